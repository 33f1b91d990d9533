/**
 * Maintenance gate. While maintenance mode is on (a database setting, see core/admin/maintenance.ts),
 * every request that may change something — any method but GET, HEAD and OPTIONS — from anyone but a
 * platform admin is answered `503 SERVICE_UNAVAILABLE` with the admin's message as `detail` and
 * `Retry-After`. Reads keep working; health probes are GETs. Routes whose config says
 * `maintenance: 'allow'` stay open (sign-in, refresh and sign-out, so an admin can get a token to turn
 * maintenance off). The state is read through a per-node cache refreshed at most every 2 s.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { maintenanceCache } from '../../core/admin/maintenance.js';
import { authenticate } from '../../core/auth/service.js';
import type { Deps } from '../../core/deps.js';
import { JanuaError } from '../../core/errors.js';
import { sendError } from '../errors.js';
import { bearerToken } from './authenticate.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `allow`: the route stays writable during maintenance (credential endpoints). */
    maintenance?: 'allow';
  }
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const maintenanceGate = fp(
  async (app: FastifyInstance, opts: { deps: Pick<Deps, 'config' | 'store' | 'clock' | 'keys'> }) => {
    const { config } = opts.deps;
    const cache = maintenanceCache(opts.deps.store, config.maintenanceRefreshSeconds * 1000);
    const gate = async (request: FastifyRequest, reply: FastifyReply) => {
      const state = await cache.current();
      if (!state.enabled) return;
      try {
        const token = bearerToken(request);
        if (token) {
          const auth = await authenticate(opts.deps, token);
          if (auth.user.isAdmin) {
            request.auth = auth;
            return;
          }
        }
      } catch {
        // An invalid token is not an admin: fall through to the maintenance answer.
      }
      return sendError(
        reply,
        request,
        new JanuaError('SERVICE_UNAVAILABLE', state.message ?? 'The service is down for maintenance', {
          retryAfter: config.maintenanceRetryAfterSeconds,
        }),
      );
    };
    // Synchronous for reads and allowed routes (no promise per request); the gate itself may query.
    app.addHook('onRequest', (request, reply, done) => {
      if (READ_METHODS.has(request.method) || request.routeOptions.config?.maintenance === 'allow')
        return done();
      gate(request, reply).then((sent) => {
        // Answered 503: the lifecycle stops here (what an async hook returning the reply does).
        if (sent === undefined) done();
      }, done);
    });
  },
  { name: 'janua-maintenance', dependencies: ['janua-authentication'] },
);
