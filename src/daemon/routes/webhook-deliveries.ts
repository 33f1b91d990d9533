/**
 * The read side of /api/v1/webhooks: the event catalogue, an endpoint's deliveries (a bare array with
 * `X-Total-Count`, as the original SDK reads it), one delivery with its body, an endpoint's figures, and
 * signature verification. Static paths (`events`, `deliveries/…`, `verify-signature`) win over `/{id}` in the
 * router, so they are never taken for an id.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { EVENT_CATALOGUE } from '../../core/webhooks/catalogue.js';
import { endpointStats, getDelivery, listDeliveries } from '../../core/webhooks/deliveries-query.js';
import { verifySignature } from '../../core/webhooks/verify.js';
import { errors, signedInRoutes } from '../schemas.js';
import {
  CatalogueSchema,
  DeliveriesQuery,
  DeliveryFullSchema,
  DeliveryParams,
  DeliverySchema,
  IdParams,
  StatsQuery,
  StatsSchema,
  VerifyBody,
  VerifySchema,
} from './webhook-schemas.js';
import { actorOf } from './webhooks.js';

export async function webhookDeliveryRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const signedIn = signedInRoutes(app, 'webhooks');

  r.get(
    '/webhooks/events',
    signedIn('The events an endpoint may subscribe to, each with a one-line description', {
      response: { 200: CatalogueSchema, ...errors(401) },
    }),
    async () => ({ events: [...EVENT_CATALOGUE] }),
  );

  r.get(
    '/webhooks/events/types',
    signedIn("The event type names (a bare array: the original SDK's shape)", {
      response: { 200: Type.Array(Type.String()), ...errors(401) },
    }),
    async () => EVENT_CATALOGUE.map((e) => e.type),
  );

  r.get(
    '/webhooks/:id/deliveries',
    signedIn(
      'Deliveries of an endpoint, newest first (a bare array; the total is in X-Total-Count). Page with page/per_page or limit/offset',
      {
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Array(DeliverySchema), ...errors(401, 403, 404, 422) },
      },
    ),
    async (request, reply) => {
      const q = request.query;
      const limit = q.per_page ?? q.limit ?? 50;
      const offset = q.page !== undefined ? (q.page - 1) * limit : (q.offset ?? 0);
      const page = await listDeliveries(deps, actorOf(request), {
        endpointId: request.params.id,
        status: q.status,
        eventType: q.event_type,
        since: q.since ? new Date(q.since) : undefined,
        until: q.until ? new Date(q.until) : undefined,
        limit,
        offset,
      });
      reply.header('x-total-count', String(page.total));
      return page.deliveries;
    },
  );

  r.get(
    '/webhooks/deliveries/:delivery_id',
    signedIn('One delivery, with the exact body sent and the start of the last answer', {
      params: DeliveryParams,
      response: { 200: DeliveryFullSchema, ...errors(401, 404, 422) },
    }),
    async (request) => getDelivery(deps, actorOf(request), request.params.delivery_id),
  );

  r.get(
    '/webhooks/:id/stats',
    signedIn('Delivery figures of an endpoint: totals by status, success rate, mean latency, last delivery', {
      params: IdParams,
      querystring: StatsQuery,
      response: { 200: StatsSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) => endpointStats(deps, actorOf(request), request.params.id, request.query.days),
  );

  r.post(
    '/webhooks/verify-signature',
    signedIn(
      "Check a signature as a receiver would: the original's hex HMAC of the payload, or with message_id and timestamp the Standard Webhooks `v1,…` one. Give the secret, or the webhook_id of an endpoint you manage",
      { body: VerifyBody, response: { 200: VerifySchema, ...errors(401, 403, 404, 422) } },
    ),
    async (request) => {
      const b = request.body;
      return verifySignature(deps, actorOf(request), {
        payload: b.payload,
        signature: b.signature,
        secret: b.secret,
        webhookId: b.webhook_id,
        messageId: b.message_id,
        timestamp: b.timestamp === undefined ? undefined : String(b.timestamp),
      });
    },
  );
}
