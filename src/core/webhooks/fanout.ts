/**
 * The fan-out: an outbox consumer that turns each domain event into one delivery per matching active endpoint,
 * inside the drain's transaction (jobs/outbox-drain.ts). Deliveries therefore exist exactly when the event is
 * marked handled: a crash mid-batch rolls both back and the batch is drained again; a change that rolled back
 * never wrote its event, so nothing is ever sent for it. Several nodes drain without handling an event twice
 * (the drain's locks), and the deliveries' jobs are claimed once each — no double-sending.
 *
 * Matching: an endpoint's `events` are exact types, `prefix.*` (any depth under the prefix: `organization.*`
 * matches `organization.member.added`) or `*`. Platform endpoints (no organization) receive every matching
 * event; an organization's endpoints only the events of that organization. Neither gets events from before
 * it was created.
 */
import type { Transaction } from 'kysely';
import type { Deps } from '../deps.js';
import type { EventConsumer } from '../jobs/outbox-drain.js';
import type { OutboxEvent } from '../store/repos/outbox.js';
import { type WebhookEndpoint, webhookEndpoints } from '../store/repos/webhooks.js';
import type { Database } from '../store/schema.js';
import { matchesPattern } from './catalogue.js';
import { type DeliveryRequest, enqueueDeliveries, type WebhookEvent } from './enqueue.js';
import { maxAttemptsOf, parseRetrySchedule } from './schedule.js';

export { matchesPattern };

export function endpointWants(e: Pick<WebhookEndpoint, 'events'>, type: string): boolean {
  return e.events.some((p) => matchesPattern(p, type));
}

/** The organization an event belongs to: the organization aggregate's id, else `payload.organization_id`. */
export function organizationOf(e: Pick<OutboxEvent, 'aggregate' | 'payload'>): string | null {
  if (e.aggregate.type === 'organization') return e.aggregate.id;
  const org = e.payload['organization_id'];
  return typeof org === 'string' && org ? org : null;
}

export function toWebhookEvent(e: OutboxEvent): WebhookEvent {
  return {
    id: e.id,
    type: e.type,
    createdAt: e.createdAt,
    data: e.payload,
    organizationId: organizationOf(e),
  };
}

/**
 * The deliveries one event makes among `endpoints` (the active ones). An endpoint gets the events that happened
 * after it was created, as subscribers expect: the drain may reach an older event only after a new endpoint
 * exists, and that event was never the endpoint's to receive.
 */
export function matchingEndpoints(
  endpoints: readonly WebhookEndpoint[],
  event: WebhookEvent,
): WebhookEndpoint[] {
  return endpoints.filter(
    (ep) =>
      ep.status === 'active' &&
      ep.createdAt.getTime() <= event.createdAt.getTime() &&
      (ep.organizationId === null || ep.organizationId === event.organizationId) &&
      endpointWants(ep, event.type),
  );
}

export const WEBHOOK_FANOUT = 'webhooks.fanout';

export function webhookFanout(deps: Pick<Deps, 'store' | 'clock' | 'config'>): EventConsumer {
  const maxAttempts = maxAttemptsOf(parseRetrySchedule(deps.config.webhookRetrySchedule));
  const fanOut = async (tx: Transaction<Database>, events: readonly OutboxEvent[]) => {
    // Read once per drained batch: a deployment has tens of endpoints, a batch hundreds of events.
    const endpoints = await webhookEndpoints.listActive(tx);
    if (endpoints.length === 0) return;
    const requests: DeliveryRequest[] = [];
    for (const e of events) {
      const event = toWebhookEvent(e);
      for (const ep of matchingEndpoints(endpoints, event)) requests.push({ endpointId: ep.id, event });
    }
    await enqueueDeliveries(tx, { ...deps, maxAttempts }, requests);
  };
  return {
    name: WEBHOOK_FANOUT,
    types: '*',
    handle: (tx, event) => fanOut(tx, [event]),
    handleBatch: fanOut,
  };
}
