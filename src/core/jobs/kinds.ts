/** What a kind of queued job is: its handler and how it is run. Areas register their kinds with the workers. */
import type { Job } from '../store/repos/jobs.js';

export interface JobContext {
  /** Aborted when the attempt times out or the node stops before the handler finished. */
  signal: AbortSignal;
}

export interface JobKind {
  kind: string;
  /**
   * Runs one attempt; throwing (or rejecting) fails it. Jobs are delivered at least once — a node that dies
   * after the work but before recording it leaves the job to run again — so handlers must be idempotent
   * (the job id, or an idempotency key, is the natural de-duplication key for the outside world).
   */
  handle(job: Job, ctx: JobContext): Promise<void>;
  /** Jobs of this kind running at once on one node (default 4): one slow kind never takes every worker. */
  concurrency?: number;
  /** How long a claim lasts before another node may take the job over; renewed while the handler runs. */
  leaseMs?: number;
  /** An attempt running longer than this fails (and is retried). Default: 5 minutes. */
  timeoutMs?: number;
  /** Retry delay after attempt n: min(maxMs, baseMs × 2^(n−1)), then jittered to between half and all of it. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * The delay before the retry that follows failed attempt `attempt` (1-based). When present it replaces
   * `backoff` (a kind with a configured schedule, e.g. webhook deliveries); no jitter is added.
   */
  retryDelayMs?(attempt: number): number;
}

/**
 * Thrown by a handler that cannot run the job now for a reason that is not the job's fault (e.g. its webhook
 * endpoint already has every in-process slot it may use): the job is given back, its attempt not counted, due
 * again after `delayMs`, so it does not hold a worker slot while it waits.
 */
export class DeferJob extends Error {
  constructor(readonly delayMs: number) {
    super(`deferred for ${delayMs} ms`);
    this.name = 'DeferJob';
  }
}

export const KIND_DEFAULTS = {
  concurrency: 4,
  leaseMs: 60_000,
  timeoutMs: 300_000,
  backoff: { baseMs: 1_000, maxMs: 3_600_000 },
} as const;

/** The delay before retry number `attempt` (1-based): exponential, capped, with "equal jitter". */
export function backoffMs(
  backoff: { baseMs: number; maxMs: number },
  attempt: number,
  random: () => number = Math.random,
): number {
  const full = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}
