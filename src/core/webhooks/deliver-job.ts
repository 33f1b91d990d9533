/**
 * The `webhook.deliver` job: one attempt of one delivery. Jobs run at least once, so the handler is
 * idempotent: a delivery gone (retention, endpoint deleted), finished, or handed to another job (a replay)
 * is left alone. Receivers dedupe on the event id (`webhook-id`), the same on every attempt.
 *
 * A failed attempt is recorded (`retrying` with `next_attempt_at`, or `failed` on the last) and thrown, so the
 * queue retries it after the schedule's next delay (`retryDelayMs`: exact, no jitter — deliveries of different
 * events are already spread by their own times). Refused targets (outbound.ts) are failures like any other and
 * follow the schedule: DNS or the setting may change, and the attempts show the operator what happened.
 *
 * One slow or hanging endpoint never takes every slot of the kind: at most WEBHOOK_CONCURRENCY_PER_ENDPOINT of
 * its attempts run at once on this node, as many more wait for them; beyond that the job is given back
 * (`DeferJob`, the attempt not counted) to be claimed again a moment later, leaving the slot to others.
 */
import type { Deps } from '../deps.js';
import { DeferJob, type JobKind } from '../jobs/kinds.js';
import { webhookDeliveries, webhookEndpoints } from '../store/repos/webhooks.js';
import { disableFailingEndpoint, dueForDisable } from './disable.js';
import { type DeliverJobPayload, WEBHOOK_DELIVER_KIND } from './enqueue.js';
import { postOnce, USER_AGENT, webhookDispatcher } from './post.js';
import { parseRetrySchedule } from './schedule.js';
import { openSecret } from './secrets.js';
import { signatureHeaders } from './signing.js';

/** How long a job deferred for a busy endpoint waits before it is claimed again. */
export const DEFER_MS = 500;

/** In-process bound per endpoint: running attempts, and a queue of as many waiting for them. */
class EndpointSlots {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  constructor(private readonly limit: number) {}

  /** A release function, or undefined when the endpoint has every running and waiting place taken. */
  async acquire(id: string): Promise<(() => void) | undefined> {
    const n = this.running.get(id) ?? 0;
    if (n < this.limit) {
      this.running.set(id, n + 1);
      return () => this.release(id);
    }
    const queue = this.waiting.get(id) ?? [];
    if (queue.length >= this.limit) return undefined;
    this.waiting.set(id, queue);
    await new Promise<void>((resolve) => queue.push(resolve));
    return () => this.release(id);
  }

  private release(id: string): void {
    const next = this.waiting.get(id)?.shift();
    if (next) {
      next(); // the slot passes on: the running count stays
      return;
    }
    if (this.waiting.get(id)?.length === 0) this.waiting.delete(id);
    const n = (this.running.get(id) ?? 1) - 1;
    if (n <= 0) this.running.delete(id);
    else this.running.set(id, n);
  }
}

/** What it takes: deps (config parsed by the caller once, at startup). */
export function webhookDeliverKind(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'box' | 'logger' | 'metrics'>,
): JobKind {
  const { store, clock, config, box, metrics } = deps;
  const schedule = parseRetrySchedule(config.webhookRetrySchedule);
  const dispatcher = webhookDispatcher(config);
  const slots = new EndpointSlots(config.webhookConcurrencyPerEndpoint);
  return {
    kind: WEBHOOK_DELIVER_KIND,
    concurrency: config.webhookConcurrency,
    // The attempt is bounded by WEBHOOK_TIMEOUT_SECONDS; this margin covers the waits and the writes.
    timeoutMs: config.webhookTimeoutSeconds * 2_000 + 10_000,
    retryDelayMs: (attempt) => schedule[Math.min(attempt, schedule.length) - 1] ?? 0,
    async handle(job, ctx) {
      const { delivery_id: id } = (job.payload ?? {}) as Partial<DeliverJobPayload>;
      if (typeof id !== 'string') return;
      const d = await webhookDeliveries.findById(store.db, id);
      if (!d || d.jobId !== job.id || d.status === 'succeeded' || d.status === 'failed') return;
      const release = await slots.acquire(d.endpointId);
      if (!release) throw new DeferJob(DEFER_MS);
      try {
        const ep = await webhookEndpoints.findById(store.db, d.endpointId);
        if (!ep) return; // deleted: its deliveries went with it
        if (ep.status !== 'active') {
          await webhookDeliveries.record(
            store.db,
            id,
            job.id,
            {
              status: 'failed',
              attempts: d.attempts,
              responseStatus: d.responseStatus,
              responseBody: d.responseBody,
              latencyMs: d.latencyMs,
              lastError: `endpoint ${ep.disabledReason === 'failing' ? 'disabled after failing' : 'disabled'}: not sent`,
              nextAttemptAt: null,
            },
            clock.now(),
          );
          metrics.webhookDeliveries.inc({ outcome: 'failed' });
          return;
        }
        const at = clock.now();
        const secrets = [openSecret(box, ep.secretBox)];
        if (ep.previousSecretBox && ep.previousSecretExpiresAt && ep.previousSecretExpiresAt > at)
          secrets.push(openSecret(box, ep.previousSecretBox));
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(ep.headers)) headers[k.toLowerCase()] = v;
        Object.assign(
          headers,
          { 'content-type': 'application/json', 'user-agent': USER_AGENT },
          signatureHeaders({ id: d.eventId, eventType: d.eventType, body: d.body, at, secrets }),
        );
        const r = await postOnce(dispatcher, config, ep.url, headers, d.body, ctx.signal);
        metrics.webhookDeliveryLatency.observe(r.latencyMs / 1000);
        const now = clock.now();
        if (r.ok) {
          await webhookDeliveries.record(
            store.db,
            id,
            job.id,
            {
              status: 'succeeded',
              attempts: job.attempts,
              responseStatus: r.status,
              responseBody: r.body,
              latencyMs: r.latencyMs,
              lastError: null,
              nextAttemptAt: null,
              deliveredAt: now,
            },
            now,
          );
          if (ep.failingSince) await webhookEndpoints.markHealthy(store.db, ep.id);
          metrics.webhookDeliveries.inc({ outcome: 'succeeded' });
          return;
        }
        const last = job.attempts >= job.maxAttempts;
        await webhookDeliveries.record(
          store.db,
          id,
          job.id,
          {
            status: last ? 'failed' : 'retrying',
            attempts: job.attempts,
            responseStatus: r.status,
            responseBody: r.body,
            latencyMs: r.latencyMs,
            lastError: r.error,
            nextAttemptAt: last ? null : new Date(now.getTime() + (schedule[job.attempts - 1] ?? 0)),
          },
          now,
        );
        metrics.webhookDeliveries.inc({ outcome: last ? 'failed' : 'failed_attempt' });
        if (!ep.failingSince) await webhookEndpoints.markFailing(store.db, ep.id, now);
        else if (dueForDisable(ep, now, config.webhookDisableAfterDays)) {
          // This delivery's open attempts go with the endpoint's (failOpen): no retry to schedule.
          if (await disableFailingEndpoint(deps, ep)) {
            deps.logger.warn(
              { endpoint: ep.id, failing_since: ep.failingSince.toISOString() },
              'webhook endpoint disabled: its deliveries failed for WEBHOOK_DISABLE_AFTER_DAYS',
            );
            return;
          }
        }
        throw new Error(r.error ?? 'delivery failed');
      } finally {
        release();
      }
    },
  };
}
