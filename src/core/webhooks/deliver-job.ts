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
 * A slow or hanging endpoint never takes every slot of the kind: at most WEBHOOK_CONCURRENCY_PER_ENDPOINT of
 * its attempts run at once on this node; more wait for them only while slots stay free for others (see
 * EndpointSlots); beyond that the job is given back (`DeferJob`, the attempt not counted) to be claimed again a
 * moment later.
 */
import type { Deps } from '../deps.js';
import { DeferJob, type JobKind } from '../jobs/kinds.js';
import { webhookDeliveries, webhookEndpoints } from '../store/repos/webhooks.js';
import { disableFailingEndpoint, dueForDisable } from './disable.js';
import { type DeliverJobPayload, WEBHOOK_DELIVER_KIND } from './enqueue.js';
import { type AttemptResult, postOnce, USER_AGENT, webhookDispatcher } from './post.js';
import { DeliveryRecorder } from './recorder.js';
import { parseRetrySchedule } from './schedule.js';
import { openSecret } from './secrets.js';
import { signatureHeaders } from './signing.js';

/** How long a job deferred for a busy endpoint waits before it is claimed again. */
export const DEFER_MS = 250;

/**
 * In-process bound per endpoint: at most `perEndpoint` attempts run at once to one endpoint. Jobs beyond it
 * wait here for a slot — holding a worker slot of the kind — only while the waiting jobs and the running
 * attempts together leave at least `perEndpoint` slots of the kind free; otherwise they are deferred. So
 * whatever slow or hanging endpoints do, jobs that can run at once always find a slot.
 */
class EndpointSlots {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private totalRunning = 0;
  private totalWaiting = 0;
  constructor(
    private readonly perEndpoint: number,
    private readonly concurrency: number,
  ) {}

  /** A release function, or undefined when the job must not wait (defer it). */
  async acquire(id: string): Promise<(() => void) | undefined> {
    const n = this.running.get(id) ?? 0;
    if (n < this.perEndpoint) {
      this.running.set(id, n + 1);
      this.totalRunning++;
      return () => this.release(id);
    }
    if (this.totalRunning + this.totalWaiting + 1 > this.concurrency - this.perEndpoint) return undefined;
    let queue = this.waiting.get(id);
    if (!queue) {
      queue = [];
      this.waiting.set(id, queue);
    }
    this.totalWaiting++;
    const q = queue;
    await new Promise<void>((resolve) => q.push(resolve));
    return () => this.release(id);
  }

  private release(id: string): void {
    const queue = this.waiting.get(id);
    const next = queue?.shift();
    if (queue?.length === 0) this.waiting.delete(id);
    if (next) {
      this.totalWaiting--;
      next(); // the slot passes on: the running counts stay
      return;
    }
    this.totalRunning--;
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
  const recorder = new DeliveryRecorder(store);
  // Opened secrets by their sealed text: opening derives a key and decrypts, per attempt otherwise.
  const opened = new Map<string, string>();
  const open = (sealed: string): string => {
    let secret = opened.get(sealed);
    if (secret === undefined) {
      if (opened.size >= 1000) opened.clear();
      secret = openSecret(box, sealed);
      opened.set(sealed, secret);
    }
    return secret;
  };
  const slots = new EndpointSlots(config.webhookConcurrencyPerEndpoint, config.webhookConcurrency);
  return {
    kind: WEBHOOK_DELIVER_KIND,
    concurrency: config.webhookConcurrency,
    // The attempt is bounded by WEBHOOK_TIMEOUT_SECONDS; this margin covers the waits and the writes.
    timeoutMs: config.webhookTimeoutSeconds * 2_000 + 10_000,
    retryDelayMs: (attempt) => schedule[Math.min(attempt, schedule.length) - 1] ?? 0,
    async handle(job, ctx) {
      const { delivery_id: id } = (job.payload ?? {}) as Partial<DeliverJobPayload>;
      if (typeof id !== 'string') return;
      const found = await webhookDeliveries.findWithEndpoint(store.db, id);
      if (!found) return;
      const { delivery: d, endpoint: ep } = found;
      if (d.jobId !== job.id || d.status === 'succeeded' || d.status === 'failed') return;
      if (!ep) return; // deleted: its deliveries went with it
      if (ep.status !== 'active') {
        await recorder.record(
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
      const secrets = [open(ep.secretBox)];
      if (ep.previousSecretBox && ep.previousSecretExpiresAt && ep.previousSecretExpiresAt > at)
        secrets.push(open(ep.previousSecretBox));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(ep.headers)) headers[k.toLowerCase()] = v;
      Object.assign(
        headers,
        { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        signatureHeaders({ id: d.eventId, eventType: d.eventType, body: d.body, at, secrets }),
      );
      // The per-endpoint bound covers the HTTP attempt only: the reads and the record are the database's.
      const release = await slots.acquire(d.endpointId);
      if (!release) throw new DeferJob(DEFER_MS);
      let r: AttemptResult;
      try {
        r = await postOnce(dispatcher, config, ep.url, headers, d.body, ctx.signal);
      } finally {
        release();
      }
      metrics.webhookDeliveryLatency.observe(r.latencyMs / 1000);
      const now = clock.now();
      if (r.ok) {
        await recorder.record(
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
      await recorder.record(
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
        // Another attempt disabled it while this one was in flight (and gave this delivery up, which the
        // record above undid): give it up again rather than retry it.
        const current = await webhookEndpoints.findById(store.db, ep.id);
        if (current && current.status !== 'active') {
          await recorder.record(
            id,
            job.id,
            {
              status: 'failed',
              attempts: job.attempts,
              responseStatus: r.status,
              responseBody: r.body,
              latencyMs: r.latencyMs,
              lastError: `${r.error}; endpoint disabled after failing: not retried`,
              nextAttemptAt: null,
            },
            clock.now(),
          );
          return;
        }
      }
      throw new Error(r.error ?? 'delivery failed');
    },
  };
}
