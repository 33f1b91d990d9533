/** What `janua cron list` shows: every scheduled job, its schedule here, its latest run anywhere, its next run. */
import type { Deps } from '../deps.js';
import { cronRuns } from '../store/repos/cron-runs.js';
import { SCHEDULED_JOBS, scheduleOf } from './scheduled.js';
import { nextRun } from './scheduler.js';

export interface CronJobStatus {
  job: string;
  description: string;
  /** From this process's configuration (each node reads its own); null when turned off. */
  schedule: string | null;
  last_run: string | null;
  outcome: string | null;
  duration_ms: number | null;
  rows_affected: number | null;
  node: string | null;
  error: string | null;
  next_run: string | null;
}

export async function cronStatus(deps: Pick<Deps, 'store' | 'config'>): Promise<CronJobStatus[]> {
  const latest = await cronRuns.latest(deps.store.db);
  return SCHEDULED_JOBS.map((job) => {
    const schedule = scheduleOf(deps.config, job);
    const last = latest.get(job.name);
    return {
      job: job.name,
      description: job.description,
      schedule,
      last_run: last?.startedAt.toISOString() ?? null,
      outcome: last?.outcome ?? null,
      duration_ms: last?.finishedAt ? last.finishedAt.getTime() - last.startedAt.getTime() : null,
      rows_affected: last ? last.rowsAffected : null,
      node: last?.node ?? null,
      error: last?.error ?? null,
      next_run: nextRun(schedule)?.toISOString() ?? null,
    };
  });
}
