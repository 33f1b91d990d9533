import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type Authenticated, authenticate } from '../../core/auth/service.js';
import type { Deps } from '../../core/deps.js';
import { JanuaError } from '../../core/errors.js';
import type { RequestContext } from '../../core/events/events.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: Authenticated | null;
  }
  interface FastifyInstance {
    /** preHandler: requires a valid bearer token whose session is live (RFC 6750 §2.1). */
    requireAuth: (request: FastifyRequest) => Promise<void>;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new JanuaError('TOKEN_ERROR', 'Authorization header must be "Bearer <token>"');
  return m[1];
}

/** Who is calling, for audit rows. */
export function requestContext(request: FastifyRequest): RequestContext {
  const actorId = request.auth?.user.id ?? null;
  return {
    actorId,
    actorType: actorId ? (request.auth?.user.isAdmin ? 'admin' : 'user') : 'anonymous',
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: request.id,
  };
}

export const authentication = fp(
  async (app: FastifyInstance, opts: { deps: Pick<Deps, 'config' | 'store' | 'clock' | 'keys'> }) => {
    app.decorateRequest('auth', null);
    app.decorate('requireAuth', async (request: FastifyRequest) => {
      const token = bearerToken(request);
      if (!token) throw new JanuaError('AUTHENTICATION_ERROR', 'Authentication required');
      request.auth = await authenticate(opts.deps, token);
    });
  },
  { name: 'janua-authentication' },
);
