/**
 * One run of a scheduled job, as every node and `janua cron run` do it: take the job's lease (so no two
 * processes run it at once), record the run — for a scheduled slot, only if no node has run that slot yet
 * (the unique (job, slot) index), so ten nodes firing the same slot run it once — run it, record the outcome,
 * release the lease.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NODE_ID } from '../node-id.js';
import { cronRuns, type RunTrigger } from '../store/repos/cron-runs.js';
import { withLease } from './lease.js';
import type { ScheduledDeps, ScheduledJob } from './scheduled.js';

export interface RunReport {
  job: string;
  trigger: RunTrigger;
  /** `skipped`: another process holds the job's lease, or already ran this slot. */
  outcome: 'succeeded' | 'failed' | 'skipped';
  rows_affected: number;
  detail: string;
  error: string | null;
  slot: string | null;
  started_at: string;
  duration_ms: number;
  node: string;
}

const MAX_ERROR_LENGTH = 2000;

export async function runScheduledJob(
  deps: ScheduledDeps,
  job: ScheduledJob,
  opts: { trigger: RunTrigger; slot?: Date | null; signal?: AbortSignal },
): Promise<RunReport> {
  const startedAt = deps.clock.now();
  const t0 = performance.now();
  const base = {
    job: job.name,
    trigger: opts.trigger,
    slot: opts.slot?.toISOString() ?? null,
    started_at: startedAt.toISOString(),
    node: NODE_ID,
  };
  const skipped = (detail: string): RunReport => ({
    ...base,
    outcome: 'skipped',
    rows_affected: 0,
    detail,
    error: null,
    duration_ms: Math.round(performance.now() - t0),
  });
  const signal = opts.signal ?? new AbortController().signal;
  const leased = await withLease(deps, `cron:${job.name}`, async (): Promise<RunReport> => {
    const id = randomUUID();
    const db = deps.store.db;
    const recorded = await cronRuns.start(db, {
      id,
      job: job.name,
      slot: opts.slot ?? null,
      trigger: opts.trigger,
      node: NODE_ID,
      startedAt,
    });
    if (!recorded) return skipped(`slot ${base.slot} already ran on another node`);
    // We hold the lease: any other run still marked running died with its node.
    await cronRuns.markInterrupted(db, job.name, id, startedAt);
    try {
      const r = await job.run(deps, signal);
      await cronRuns.finish(db, id, 'succeeded', r.rows, null, deps.clock.now());
      return {
        ...base,
        outcome: 'succeeded',
        rows_affected: r.rows,
        detail: r.detail,
        error: null,
        duration_ms: Math.round(performance.now() - t0),
      };
    } catch (err) {
      const text = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);
      await cronRuns.finish(db, id, 'failed', 0, text, deps.clock.now()).catch(() => {});
      return {
        ...base,
        outcome: 'failed',
        rows_affected: 0,
        detail: `failed: ${text}`,
        error: text,
        duration_ms: Math.round(performance.now() - t0),
      };
    }
  });
  return leased.ran ? leased.value : skipped('running in another process (its lease is held)');
}
