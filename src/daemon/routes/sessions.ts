/**
 * "My sessions" under /api/v1/sessions: a signed-in user's own live sessions (core/sessions/mine.ts). The
 * issue's paths (`DELETE /sessions` ends all but the current one) and the original SDK's
 * (`/sessions/current`, `POST /sessions/revoke-all`) are served by the same handlers.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import {
  getMySession,
  listMySessions,
  MAX_SESSIONS_PER_PAGE,
  type Me,
  revokeMyOtherSessions,
  revokeMySession,
} from '../../core/sessions/mine.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, MessageSchema, Nullable } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const DateTime = Type.String({ format: 'date-time' });

const MySessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
  ip_address: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  device_name: Nullable(Type.String({ description: 'e.g. "Apple iPhone" or "Chrome on Windows"' })),
  device_type: Type.String({ description: 'desktop, mobile, tablet, tv, bot or unknown' }),
  browser: Nullable(Type.String({ description: 'Name and major version, e.g. "Chrome 120"' })),
  os: Nullable(Type.String({ description: 'Name and version, e.g. "iOS 17.1"' })),
  is_current: Type.Boolean({ description: 'The session of the token making this request' }),
  created_at: DateTime,
  last_activity_at: DateTime,
});
const PageSchema = Type.Object({
  data: Type.Array(MySessionSchema),
  total: Type.Integer(),
  page: Type.Integer(),
  per_page: Type.Integer(),
  total_pages: Type.Integer(),
});
const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SESSIONS_PER_PAGE, default: 20 })),
});
const RevokedSchema = Type.Object({ message: Type.String(), sessions_revoked: Type.Integer() });

const tags = ['sessions'];
/** Ending a session only takes access away, like sign-out: it stays open during maintenance mode. */
const config = { maintenance: 'allow' as const };
const security = [{ bearer: [] }];

export async function sessionRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  app.addHook('preHandler', app.requireAuth);
  const me = (request: FastifyRequest): Me => ({
    userId: request.auth!.user.id,
    sessionId: request.auth!.session.id,
  });

  r.get(
    '/',
    {
      schema: {
        tags,
        summary: 'Your live sessions, newest first, with the device, browser and system of each',
        security,
        querystring: ListQuery,
        response: { 200: PageSchema, ...errors(401, 422) },
      },
    },
    async (request) =>
      listMySessions(deps, me(request), { page: request.query.page, perPage: request.query.per_page }),
  );

  r.get(
    '/current',
    {
      schema: {
        tags,
        summary: 'The session of the token making this request',
        security,
        response: { 200: MySessionSchema, ...errors(401) },
      },
    },
    async (request) => getMySession(deps, me(request), request.auth!.session.id),
  );

  r.get(
    '/:session_id',
    {
      schema: {
        tags,
        summary: 'One of your live sessions (404 for any other id)',
        security,
        params: Type.Object({ session_id: Uuid }),
        response: { 200: MySessionSchema, ...errors(401, 404, 422) },
      },
    },
    async (request) => getMySession(deps, me(request), request.params.session_id),
  );

  r.delete(
    '/:session_id',
    {
      config,
      schema: {
        tags,
        summary:
          'End one of your sessions: its access tokens and refresh token stop working at once (404 for any other id)',
        security,
        params: Type.Object({ session_id: Uuid }),
        response: { 200: MessageSchema, ...errors(401, 404, 422) },
      },
    },
    async (request) => {
      await revokeMySession(deps, me(request), request.params.session_id, requestContext(request));
      return { message: 'Session revoked' };
    },
  );

  // The DELETE /sessions and the SDK's POST /sessions/revoke-all: everything but this session.
  const revokeOthers = async (request: FastifyRequest) => {
    const { revoked } = await revokeMyOtherSessions(deps, me(request), requestContext(request));
    return { message: 'Other sessions revoked', sessions_revoked: revoked };
  };
  const summary = 'End every session of yours except the current one';
  r.delete(
    '/',
    { config, schema: { tags, summary, security, response: { 200: RevokedSchema, ...errors(401) } } },
    revokeOthers,
  );
  r.post(
    '/revoke-all',
    {
      config,
      schema: {
        tags,
        summary: `${summary} (the original SDK's spelling of DELETE /api/v1/sessions)`,
        security,
        response: { 200: RevokedSchema, ...errors(401) },
      },
    },
    revokeOthers,
  );
}
