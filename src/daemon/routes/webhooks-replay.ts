/**
 * Webhook replay over HTTP, thin over core/webhooks/replay.ts: replay one delivery, or a window of one webhook's
 * deliveries. Platform admins only for now (anonymous callers 401, everyone else 403), checked before any input
 * is looked at; organization-scoped access follows the management routes' rules when they land.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { requirePlatformAdmin } from '../../core/rbac/access.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../core/store/repos/webhooks.js';
import { collectReplay, type ReplayOutcome, replayDelivery } from '../../core/webhooks/replay.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const Status = Type.Unsafe<DeliveryStatus>(Type.String({ enum: [...DELIVERY_STATUSES] }));

const ReplayedSchema = Type.Object({
  delivery_id: Type.String({ description: 'The new delivery' }),
  replay_of: Type.String({ description: 'The delivery it re-sends' }),
  status: Status,
});

const WindowBody = Type.Object(
  {
    since: Type.String({ format: 'date-time', description: 'Inclusive (created_at of the deliveries)' }),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
    status: Type.Optional(Status),
    event_type: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    skip_replayed: Type.Optional(
      Type.Boolean({ description: 'Skip deliveries already replayed (resumes an interrupted replay)' }),
    ),
    dry_run: Type.Optional(Type.Boolean({ description: 'Select and report, change nothing' })),
  },
  { additionalProperties: false },
);

const ItemSchema = Type.Object({
  original_id: Type.String(),
  outcome: Type.Unsafe<ReplayOutcome>(Type.String({ enum: ['queued', 'would_queue', 'skipped', 'error'] })),
  delivery_id: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});

const WindowResult = Type.Object({
  queued: Type.Integer({ description: 'Queued (or, in a dry run, that would be)' }),
  skipped: Type.Integer({ description: 'Skipped or failed; see each item' }),
  items: Type.Array(ItemSchema),
});

export async function webhookReplayRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['webhooks'];
  const security = [{ bearer: [] }];

  app.addHook('onRequest', async (request) => {
    await app.requireAuth(request);
    requirePlatformAdmin(request.auth!.user);
  });

  r.post(
    '/webhooks/deliveries/:delivery_id/replay',
    {
      schema: {
        tags,
        summary: 'Replay one delivery: a new delivery with the same event id and body bytes',
        security,
        params: Type.Object({ delivery_id: Uuid }),
        response: { 202: ReplayedSchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const d = await replayDelivery(deps, request.params.delivery_id, requestContext(request));
      return reply.code(202).send({ delivery_id: d.deliveryId, replay_of: d.replayOf, status: d.status });
    },
  );

  r.post(
    '/webhooks/:id/replay',
    {
      schema: {
        tags,
        summary: "Replay a window of one webhook's deliveries (oldest first)",
        security,
        params: Type.Object({ id: Uuid }),
        body: WindowBody,
        response: { 200: WindowResult, 202: WindowResult, ...errors(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const items = await collectReplay(
        deps,
        {
          webhookId: request.params.id,
          since: new Date(b.since),
          until: b.until === undefined ? undefined : new Date(b.until),
          status: b.status,
          eventType: b.event_type,
          skipReplayed: b.skip_replayed,
        },
        { dryRun: !!b.dry_run, ctx: requestContext(request) },
      );
      const queued = items.filter((i) => i.outcome === 'queued' || i.outcome === 'would_queue').length;
      return reply.code(b.dry_run ? 200 : 202).send({
        queued,
        skipped: items.length - queued,
        items: items.map((i) => ({
          original_id: i.originalId,
          outcome: i.outcome,
          ...(i.deliveryId ? { delivery_id: i.deliveryId } : {}),
          ...(i.reason ? { reason: i.reason } : {}),
        })),
      });
    },
  );
}
