/**
 * Deliveries are made in the transaction that decides them (the outbox drain's fan-out, a test send, a replay):
 * each is a `webhook_deliveries` row holding the exact body to send, and a `webhook.deliver` job that sends it.
 * Both exist exactly when that transaction commits, so nothing acknowledged is lost and nothing rolled back is
 * sent.
 *
 * The body is the event as receivers see it: `{id, type, created_at, data, organization_id?}`. Its id is the
 * event's (the outbox event id), the same on every attempt and replay: receivers dedupe on it.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { enqueueMany } from '../jobs/queue.js';
import { webhookDeliveries } from '../store/repos/webhooks.js';
import type { Executor } from '../store/store.js';

export const WEBHOOK_DELIVER_KIND = 'webhook.deliver';

/** The payload of a `webhook.deliver` job. */
export interface DeliverJobPayload {
  delivery_id: string;
}

export interface WebhookEvent {
  id: string;
  type: string;
  createdAt: Date;
  data: Record<string, unknown>;
  /** The organization the event belongs to (organization endpoints receive only theirs). */
  organizationId: string | null;
}

export function eventBody(e: WebhookEvent): string {
  return JSON.stringify({
    id: e.id,
    type: e.type,
    created_at: e.createdAt.toISOString(),
    data: e.data,
    ...(e.organizationId ? { organization_id: e.organizationId } : {}),
  });
}

export interface DeliveryRequest {
  endpointId: string;
  event: WebhookEvent;
  /** The body to send (a replay re-sends the original bytes); default: eventBody(event). */
  body?: string;
  /** The delivery a replay re-sends. */
  replayOf?: string | null;
}

export interface EnqueuedDelivery {
  deliveryId: string;
  jobId: string;
}

export type EnqueueDeps = Pick<Deps, 'store' | 'clock'> & {
  /** Attempts a delivery gets (the retry schedule's length + 1). */
  maxAttempts: number;
};

/** Call it inside a transaction: the jobs must not become claimable before their delivery rows exist. */
export async function enqueueDeliveries(
  ex: Executor,
  deps: EnqueueDeps,
  requests: readonly DeliveryRequest[],
): Promise<EnqueuedDelivery[]> {
  if (requests.length === 0) return [];
  const ids = requests.map(() => randomUUID());
  const jobs = await enqueueMany(
    ex,
    deps,
    ids.map((id) => ({
      kind: WEBHOOK_DELIVER_KIND,
      payload: { delivery_id: id } satisfies DeliverJobPayload,
      maxAttempts: deps.maxAttempts,
    })),
  );
  await webhookDeliveries.insertMany(
    ex,
    requests.map((r, i) => ({
      id: ids[i]!,
      endpointId: r.endpointId,
      eventId: r.event.id,
      eventType: r.event.type,
      organizationId: r.event.organizationId,
      body: r.body ?? eventBody(r.event),
      jobId: jobs[i]!.id,
      replayOf: r.replayOf ?? null,
      eventCreatedAt: r.event.createdAt,
    })),
    deps.clock.now(),
  );
  return ids.map((deliveryId, i) => ({ deliveryId, jobId: jobs[i]!.id }));
}
