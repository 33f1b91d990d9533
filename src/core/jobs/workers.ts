/**
 * The job workers of one node: one lane per job kind, each running at most its kind's concurrency at once, so a
 * slow kind never starves the others. A lane claims as many due jobs as it has free slots in one statement
 * (./store/repos/jobs.ts), runs them, and records successes in batches (one UPDATE for every job that finished
 * in the same turn of the event loop). Failures are retried with exponential backoff and jitter until the job's
 * attempt budget is spent, then marked dead.
 *
 * A claim is a lease: the job's `run_at` becomes the lease's end, renewed while the handler runs. A node that
 * dies mid-job stops renewing, the lease runs out and another node claims the job — nothing is lost. Stopping
 * (SIGTERM) lets running handlers finish for a grace period and gives back the jobs still running after it.
 *
 * Lanes wake on this process's enqueues (after commit), on Postgres NOTIFY from other nodes, and on a poll
 * interval (jobs that became due later, enqueues from other processes on SQLite).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { type Job, jobs } from '../store/repos/jobs.js';
import type { Store } from '../store/store.js';
import { backoffMs, DeferJob, type JobKind, KIND_DEFAULTS } from './kinds.js';
import { jobSignals } from './signals.js';

export interface WorkerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
}

export interface WorkerOptions {
  /** Poll interval when idle (wake-ups make it rarely matter). */
  pollMs?: number;
  /** How long `stop()` waits for running handlers before giving their jobs back. */
  shutdownGraceMs?: number;
  /**
   * Told of every database failure first; true when it is a connection-level failure already logged as an
   * outage (the daemon's OutageWatch), so the workers do not log it again.
   */
  isOutage?: (err: unknown) => boolean;
  /** Called once per finished attempt (metrics). */
  onAttempt?: (kind: string, outcome: 'succeeded' | 'failed' | 'dead', ms: number) => void;
}

interface Running {
  job: Job;
  claimId: string;
  startedAt: number;
  abort: AbortController;
  done: Promise<void>;
}

const MAX_ERROR_LENGTH = 2000;

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.slice(0, MAX_ERROR_LENGTH);
}

/** One kind's lane: claims up to its free slots, runs, and claims again as slots free up. */
class Lane {
  readonly running = new Map<string, Running>();
  /** The claim loop in progress, if any (one per lane at a time). */
  pumping: Promise<void> | undefined;
  private again = false;
  readonly concurrency: number;
  readonly leaseMs: number;
  private readonly timeoutMs: number;
  private readonly backoff: { baseMs: number; maxMs: number };

  constructor(
    private readonly w: JobWorkers,
    readonly kind: JobKind,
  ) {
    this.concurrency = kind.concurrency ?? KIND_DEFAULTS.concurrency;
    this.leaseMs = kind.leaseMs ?? KIND_DEFAULTS.leaseMs;
    this.timeoutMs = kind.timeoutMs ?? KIND_DEFAULTS.timeoutMs;
    this.backoff = kind.backoff ?? KIND_DEFAULTS.backoff;
  }

  /**
   * Claims and starts jobs while there are free slots and due jobs. `peek`: look with a cheap read first (the
   * idle poll), so an idle node does not write a claim statement every interval.
   */
  pump(peek = false): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = this.claimLoop(peek).finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private async claimLoop(peek: boolean): Promise<void> {
    try {
      const { store, clock } = this.w.deps;
      if (peek && !(await jobs.anyDue(store.db, this.kind.kind, clock.now()))) return;
      do {
        this.again = false;
        while (!this.w.stopping && this.running.size < this.concurrency) {
          const now = clock.now();
          const claimId = randomUUID();
          const claimed = await jobs.claim(
            store.db,
            store.dialect,
            this.kind.kind,
            this.concurrency - this.running.size,
            now,
            new Date(now.getTime() + this.leaseMs),
            claimId,
          );
          this.w.healthy();
          if (this.w.stopping) {
            // Stopped while claiming: give the jobs back at once rather than start them.
            const at = clock.now();
            await Promise.all(claimed.map((j) => jobs.release(store.db, j.id, claimId, at)));
            break;
          }
          for (const job of claimed) this.start(job, claimId);
          if (claimed.length === 0) break;
        }
      } while (this.again && !this.w.stopping);
    } catch (err) {
      this.w.trouble(err);
    }
  }

  private start(job: Job, claimId: string): void {
    const abort = new AbortController();
    const startedAt = performance.now();
    const entry: Running = { job, claimId, startedAt, abort, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.attempt(entry).finally(() => {
      this.running.delete(job.id);
      if (!this.w.stopping) void this.pump();
    });
  }

  private async attempt(r: Running): Promise<void> {
    const { job } = r;
    // The previous attempt's node died holding the last attempt: nothing is left to try.
    if (job.attempts > job.maxAttempts) {
      await this.finishFailed(r, new Error('the worker running the last attempt stopped before it finished'));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        r.abort.abort(new Error(`timed out after ${this.timeoutMs} ms`));
        reject(new Error(`timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      await Promise.race([this.kind.handle(job, { signal: r.abort.signal }), timeout]);
    } catch (err) {
      clearTimeout(timer);
      if (this.w.stopping && r.abort.signal.aborted) return; // given back by stop()
      if (err instanceof DeferJob) {
        await this.defer(r, err.delayMs);
        return;
      }
      await this.finishFailed(r, err);
      return;
    }
    clearTimeout(timer);
    this.w.succeeded(this.kind.kind, r);
  }

  /** Gives the job back without counting the attempt, due again after `delayMs` (see DeferJob). */
  private async defer(r: Running, delayMs: number): Promise<void> {
    const { store, clock } = this.w.deps;
    try {
      await jobs.release(store.db, r.job.id, r.claimId, new Date(clock.now().getTime() + delayMs));
    } catch (err) {
      this.w.trouble(err); // the lease runs out and the job is claimed again
    }
  }

  private async finishFailed(r: Running, err: unknown): Promise<void> {
    const { job } = r;
    const { store, clock, logger } = this.w.deps;
    const now = clock.now();
    const dead = job.attempts >= job.maxAttempts;
    const delay = this.kind.retryDelayMs
      ? this.kind.retryDelayMs(job.attempts)
      : backoffMs(this.backoff, job.attempts);
    const retryAt = dead ? null : new Date(now.getTime() + delay);
    const text = errorText(err);
    try {
      await jobs.fail(store.db, job.id, r.claimId, now, text, retryAt);
    } catch (writeErr) {
      // The lease will run out and the job will be claimed again: the attempt is not lost, only not recorded.
      this.w.trouble(writeErr);
    }
    const ms = performance.now() - r.startedAt;
    this.w.options.onAttempt?.(this.kind.kind, dead ? 'dead' : 'failed', ms);
    logger[dead ? 'error' : 'warn'](
      { job: job.id, kind: job.kind, attempt: job.attempts, max_attempts: job.maxAttempts, error: text },
      dead ? 'job failed for the last time: dead' : `job failed; retry at ${retryAt?.toISOString()}`,
    );
  }

  /** Renews the leases of jobs running longer than a third of the lease. */
  async renew(): Promise<void> {
    const now = performance.now();
    const due = [...this.running.values()].filter((r) => now - r.startedAt > this.leaseMs / 3);
    if (due.length === 0) return;
    const { store, clock } = this.w.deps;
    const until = new Date(clock.now().getTime() + this.leaseMs);
    await jobs.extend(
      store.db,
      due.map((r) => r.job.id),
      [...new Set(due.map((r) => r.claimId))],
      until,
    );
  }
}

export class JobWorkers {
  stopping = false;
  private readonly lanes = new Map<string, Lane>();
  private readonly done: Array<{ id: string; claimId: string; kind: string; ms: number }> = [];
  private flushing: Promise<void> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  private failing = false;
  /** Set at the end of stop(): nothing is retried after it. */
  private closed = false;
  readonly options: Required<Omit<WorkerOptions, 'onAttempt' | 'isOutage'>> &
    Pick<WorkerOptions, 'onAttempt' | 'isOutage'>;

  constructor(
    readonly deps: WorkerDeps,
    kinds: readonly JobKind[],
    options: WorkerOptions = {},
  ) {
    this.options = { pollMs: 1000, shutdownGraceMs: 10_000, ...options };
    for (const k of kinds) {
      if (this.lanes.has(k.kind)) throw new Error(`job kind ${k.kind} registered twice`);
      this.lanes.set(k.kind, new Lane(this, k));
    }
  }

  get kinds(): string[] {
    return [...this.lanes.keys()];
  }

  /** Jobs running on this node, per kind. */
  runningCounts(): Record<string, number> {
    return Object.fromEntries([...this.lanes].map(([k, l]) => [k, l.running.size]));
  }

  start(): void {
    this.unlisten = jobSignals.listen((kind) => void this.lanes.get(kind)?.pump());
    const poll = () => {
      for (const lane of this.lanes.values()) void lane.pump(true);
    };
    // Referenced timers: running workers keep their process alive until stop() (a worker-only process has
    // nothing else that would).
    this.pollTimer = setInterval(poll, this.options.pollMs);
    const minLease = Math.min(...[...this.lanes.values()].map((l) => l.leaseMs), 60_000);
    this.renewTimer = setInterval(() => {
      for (const lane of this.lanes.values()) lane.renew().catch((err) => this.trouble(err));
    }, minLease / 3);
    poll();
  }

  /** Wakes one kind's lane (Postgres NOTIFY from another node). */
  wake(kind: string): void {
    void this.lanes.get(kind)?.pump();
  }

  succeeded(kind: string, r: Running): void {
    this.done.push({ id: r.job.id, claimId: r.claimId, kind, ms: performance.now() - r.startedAt });
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Records every success of this turn in one statement; on failure keeps them for the next try. */
  private async flush(): Promise<void> {
    const batch = this.done.splice(0);
    try {
      if (batch.length) {
        await jobs.succeed(
          this.deps.store.db,
          batch.map((d) => d.id),
          [...new Set(batch.map((d) => d.claimId))],
          this.deps.clock.now(),
        );
        for (const d of batch) this.options.onAttempt?.(d.kind, 'succeeded', d.ms);
      }
    } catch (err) {
      this.done.unshift(...batch);
      this.trouble(err);
      await new Promise((r) => setTimeout(r, Math.min(this.options.pollMs, 1000)));
    } finally {
      this.flushing = undefined;
      if (this.done.length && !this.closed) this.flushing = this.flush();
    }
  }

  /** The database failed us: one warning per outage, not one per attempt. */
  trouble(err: unknown): void {
    if (this.options.isOutage?.(err) || this.failing) return;
    this.failing = true;
    this.deps.logger.warn({ err: errorText(err) }, 'job workers cannot reach the database; retrying');
  }

  healthy(): void {
    if (!this.failing) return;
    this.failing = false;
    this.deps.logger.info('job workers reach the database again');
  }

  /**
   * Stops claiming, lets running handlers finish for the grace period, then gives back the jobs still running
   * (their attempt not counted, due at once for another node) and records the successes.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.pollTimer);
    clearInterval(this.renewTimer);
    this.unlisten?.();
    await Promise.allSettled([...this.lanes.values()].map((l) => l.pumping));
    const running = () => [...this.lanes.values()].flatMap((l) => [...l.running.values()]);
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running().map((r) => r.done)),
      new Promise((r) => {
        grace = setTimeout(r, this.options.shutdownGraceMs);
      }),
    ]);
    clearTimeout(grace);
    const left = running();
    for (const r of left) r.abort.abort(new Error('the node is stopping'));
    const now = this.deps.clock.now();
    await Promise.allSettled(left.map((r) => jobs.release(this.deps.store.db, r.job.id, r.claimId, now)));
    if (left.length)
      this.deps.logger.info({ jobs: left.map((r) => r.job.id) }, 'gave back jobs still running at stop');
    // Successes not yet recorded: a bounded wait (with the database gone they cannot be recorded; their leases
    // run out and the jobs run again, which at-least-once delivery allows).
    const deadline = Date.now() + 5000;
    while (this.flushing && Date.now() < deadline)
      await Promise.race([this.flushing, new Promise((r) => setTimeout(r, 100))]);
    this.closed = true;
  }
}
