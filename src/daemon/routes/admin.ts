/**
 * The platform-admin surface: statistics, the audit trail (`/admin/activity` and `/audit-logs`, one
 * query), maintenance mode, the effective system configuration, health, and the sign-out of everyone. Platform admins only: anonymous
 * callers get 401, everyone else 403 AUTHORIZATION_ERROR.
 */

import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  type AuditQuery,
  DEFAULT_PER_PAGE,
  listAuditEvents,
  MAX_PER_PAGE,
  streamAuditEvents,
} from '../../core/admin/audit-log.js';
import { getMaintenance, setMaintenance } from '../../core/admin/maintenance.js';
import { platformStats } from '../../core/admin/stats.js';
import { systemOverview } from '../../core/admin/system.js';
import type { Deps } from '../../core/deps.js';
import { healthReport } from '../../core/health.js';
import { requirePlatformAdmin } from '../../core/rbac/access.js';
import { revokeAllPlatformSessions } from '../../core/users/admin.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, MultilineText, Nullable } from '../schemas.js';

const DateTime = Type.String({ format: 'date-time' });

const AuditFilterFields = {
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Exact action, or a prefix ending in `.` or `*` (`auth.` matches `auth.signin`)',
    }),
  ),
  actor_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  target_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
  user_id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: "Events where this id is the actor or the target (an erased user's pseudonym works too)",
    }),
  ),
};
const AuditQuerystring = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  per_page: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PER_PAGE, description: `default ${DEFAULT_PER_PAGE}` }),
  ),
  ...AuditFilterFields,
});
const AuditExportQuerystring = Type.Object(AuditFilterFields);

/** The filter part of both audit querystrings, as the core takes it. */
function auditFilter(q: {
  action?: string | undefined;
  actor_id?: string | undefined;
  target_id?: string | undefined;
  user_id?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  since?: string | undefined;
  until?: string | undefined;
}): AuditQuery {
  return {
    action: q.action,
    actorId: q.actor_id,
    targetId: q.target_id,
    userId: q.user_id,
    outcome: q.outcome,
    since: q.since === undefined ? undefined : new Date(q.since),
    until: q.until === undefined ? undefined : new Date(q.until),
  };
}

const AuditEventSchema = Type.Object({
  id: Type.String(),
  occurred_at: DateTime,
  action: Type.String(),
  outcome: Type.String(),
  actor_id: Nullable(Type.String()),
  actor_type: Type.String(),
  target_type: Nullable(Type.String()),
  target_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

const AuditPageSchema = Type.Object({
  items: Type.Array(AuditEventSchema),
  total: Type.Integer(),
  page: Type.Integer(),
  per_page: Type.Integer(),
});

const StatsSchema = Type.Object({
  users: Type.Object({
    total: Type.Integer(),
    active: Type.Integer(),
    suspended: Type.Integer(),
    deleted: Type.Integer(),
    verified: Type.Integer(),
    admins: Type.Integer(),
  }),
  organizations: Type.Object({ total: Type.Integer() }),
  sessions: Type.Object({ active: Type.Integer() }),
  sign_ins_last_24h: Type.Integer(),
  sign_in_failures_last_24h: Type.Integer(),
  generated_at: DateTime,
});

const MaintenanceSchema = Type.Object({
  enabled: Type.Boolean(),
  message: Nullable(Type.String()),
  updated_at: Nullable(DateTime),
  updated_by: Nullable(Type.String()),
});

const MaintenanceBody = Type.Object({
  enabled: Type.Boolean(),
  message: Type.Optional(Nullable(MultilineText({ maxLength: 500 }))),
});

const KeySchema = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  state: Type.String(),
  created_at: DateTime,
  activated_at: Nullable(DateTime),
  retired_at: Nullable(DateTime),
  retires_at: Nullable(DateTime),
});

const SystemSchema = Type.Object({
  version: Type.String(),
  config: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Effective configuration; secrets are `***`, the database password is masked',
  }),
  database: Type.Object({
    dialect: Type.String(),
    migrations: Type.Array(
      Type.Object({
        version: Type.Integer(),
        name: Type.String(),
        state: Type.String(),
        applied_at: Nullable(DateTime),
      }),
    ),
    pending_migrations: Type.Integer(),
  }),
  master_key_source: Type.String(),
  keys: Type.Array(KeySchema),
});

const HealthSchema = Type.Object({
  status: Type.String(),
  database: Type.Boolean(),
  redis: Nullable(Type.Boolean()),
  kms: Type.Boolean(),
});

export async function adminRoutes(
  app: FastifyInstance,
  opts: { deps: Deps; redisPing?: (() => Promise<boolean>) | null },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['admin'];
  const security = [{ bearer: [] }];

  // Every route here: authenticate, then require a platform admin — before any input is looked at.
  app.addHook('onRequest', async (request) => {
    await app.requireAuth(request);
    requirePlatformAdmin(request.auth!.user);
  });

  r.get(
    '/admin/stats',
    {
      schema: {
        tags,
        summary: 'Platform statistics: users, organizations, live sessions, sign-ins in the last 24 h',
        security,
        response: { 200: StatsSchema, ...errors(401, 403) },
      },
    },
    async () => platformStats(deps),
  );

  for (const url of ['/admin/activity', '/audit-logs']) {
    r.get(
      url,
      {
        schema: {
          tags,
          summary:
            url === '/audit-logs'
              ? 'Audit log, filterable'
              : 'Recent platform activity (audit events), newest first',
          security,
          querystring: AuditQuerystring,
          response: { 200: AuditPageSchema, ...errors(401, 403, 422) },
        },
      },
      async (request) => {
        const q = request.query;
        return listAuditEvents(deps, { ...auditFilter(q), page: q.page, perPage: q.per_page });
      },
    );
  }

  // The whole matching trail as NDJSON, oldest first, read in keyset batches and written as it is read, so
  // neither side holds more than a batch however many rows there are. The filter is checked (422) before the
  // first byte goes out; an error after that can only cut the stream short.
  r.get(
    '/audit-logs/export',
    {
      schema: {
        tags,
        summary: 'Audit log export: NDJSON (one audit event per line), oldest first',
        security,
        querystring: AuditExportQuerystring,
        produces: ['application/x-ndjson'],
        response: errors(401, 403, 422),
      },
    },
    async (request, reply) => {
      const events = streamAuditEvents(deps, auditFilter(request.query));
      const lines = Readable.from(
        (async function* () {
          for await (const e of events) yield `${JSON.stringify(e)}\n`;
        })(),
      );
      reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
      // The typed reply knows only the documented error bodies; a stream is sent as is, never serialized.
      return reply.send(lines as never);
    },
  );

  r.get(
    '/admin/maintenance',
    {
      schema: {
        tags,
        summary: 'Maintenance mode: on or off, and the message clients see',
        security,
        response: { 200: MaintenanceSchema, ...errors(401, 403) },
      },
    },
    async () => getMaintenance(deps),
  );

  r.post(
    '/admin/maintenance',
    {
      schema: {
        tags,
        summary: 'Toggle maintenance mode (non-admin writes get 503 while on; reads keep working)',
        security,
        body: MaintenanceBody,
        response: { 200: MaintenanceSchema, ...errors(400, 401, 403, 422) },
      },
    },
    async (request) => setMaintenance(deps, request.body, requestContext(request)),
  );

  // `/admin/config` is the original SDK's spelling.
  for (const url of ['/admin/system/config', '/admin/config']) {
    r.get(
      url,
      {
        schema: {
          tags,
          summary: `Effective configuration (secrets redacted), version, database and signing-key summary${url === '/admin/config' ? ' (= /admin/system/config)' : ''}`,
          security,
          response: { 200: SystemSchema, ...errors(401, 403) },
        },
      },
      async () => systemOverview(deps),
    );
  }

  r.get(
    '/admin/health',
    {
      schema: {
        tags,
        summary: 'Health of the database, Redis and the key store (= /health/detailed, for admins)',
        security,
        response: { '2xx': HealthSchema, 503: HealthSchema, ...errors(401, 403) },
      },
    },
    async (_request, reply) => {
      const report = await healthReport(deps, opts.redisPing ?? null);
      reply.status(report.status === 'unhealthy' ? 503 : 200);
      return report;
    },
  );

  r.post(
    '/admin/sessions/revoke-all',
    {
      schema: {
        tags,
        summary:
          "End every live session on the platform except the caller's own; every other access token stops working at once",
        security,
        response: {
          200: Type.Object({ message: Type.String(), sessions_revoked: Type.Integer() }),
          ...errors(401, 403),
        },
      },
    },
    async (request) => {
      const { revoked } = await revokeAllPlatformSessions(
        deps,
        request.auth!.session.id,
        requestContext(request),
      );
      return { message: 'Sessions revoked', sessions_revoked: revoked };
    },
  );
}
