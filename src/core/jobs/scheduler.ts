/**
 * The scheduler: fires each enabled scheduled job on its cron schedule (node-cron, in UTC) and runs it through
 * `runScheduledJob`, which makes a slot run once across every node and process. `janua serve` runs one
 * in-process unless told not to; `janua cron` runs only this.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { type RunReport, runScheduledJob } from './run-scheduled.js';
import { SCHEDULED_JOBS, type ScheduledDeps, type ScheduledJob, scheduleOf } from './scheduled.js';

/** When a schedule next fires (UTC), or null when it is off. */
export function nextRun(schedule: string | null): Date | null {
  if (!schedule) return null;
  const task = cron.createTask(schedule, () => {}, { timezone: 'UTC' });
  try {
    return task.getNextRuns(1)[0] ?? null;
  } finally {
    void task.destroy();
  }
}

export interface SchedulerOptions {
  /** Called after every run (logging, metrics). */
  onRun?: (report: RunReport) => void;
  /** How long `stop()` lets running jobs finish before asking them to stop between batches. */
  shutdownGraceMs?: number;
}

export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<Promise<RunReport>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly deps: ScheduledDeps,
    private readonly options: SchedulerOptions = {},
    private readonly jobs: readonly ScheduledJob[] = SCHEDULED_JOBS,
  ) {}

  /** The jobs it runs and their schedules (null: turned off). */
  plan(): Array<{ job: ScheduledJob; schedule: string | null }> {
    return this.jobs.map((job) => ({ job, schedule: scheduleOf(this.deps.config, job) }));
  }

  start(): void {
    for (const { job, schedule } of this.plan()) {
      if (!schedule) continue;
      const task = cron.schedule(schedule, (ctx) => this.fire(job, ctx.date), {
        name: `janua:${job.name}`,
        timezone: 'UTC',
        // A run still going when its next slot comes is not doubled; the slot is skipped (logged by node-cron's
        // overlap event below at debug).
        noOverlap: true,
      });
      task.on('execution:overlap', () =>
        this.deps.logger.debug({ job: job.name }, 'previous run still going; slot skipped'),
      );
      this.tasks.push(task);
    }
  }

  private fire(job: ScheduledJob, slot: Date): Promise<RunReport> {
    const run = runScheduledJob(this.deps, job, { trigger: 'schedule', slot, signal: this.abort.signal })
      .catch((err: unknown): RunReport => {
        // The lease or the run record could not be written (database down): report it as a failed run.
        const text = err instanceof Error ? err.message : String(err);
        return {
          job: job.name,
          trigger: 'schedule',
          outcome: 'failed',
          rows_affected: 0,
          detail: `failed: ${text}`,
          error: text,
          slot: slot.toISOString(),
          started_at: new Date().toISOString(),
          duration_ms: 0,
          node: '',
        };
      })
      .then((report) => {
        this.options.onRun?.(report);
        return report;
      });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  /** Stops firing; lets running jobs finish for the grace period, then aborts them (they stop between batches). */
  async stop(): Promise<void> {
    for (const t of this.tasks) await t.destroy();
    this.tasks.length = 0;
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((r) => {
        grace = setTimeout(r, this.options.shutdownGraceMs ?? 10_000);
      }),
    ]);
    clearTimeout(grace);
    this.abort.abort(new Error('the scheduler is stopping'));
    await Promise.allSettled([...this.running]);
  }
}

/** The log line of one run: one per run, at info (skips, which every other node sees, at debug). */
export function logRun(logger: ScheduledDeps['logger'], r: RunReport): void {
  const fields = {
    job: r.job,
    outcome: r.outcome,
    rows_affected: r.rows_affected,
    duration_ms: r.duration_ms,
    trigger: r.trigger,
  };
  const msg = `${r.job} ${r.outcome}: ${r.detail}`;
  if (r.outcome === 'failed') logger.error(fields, msg);
  else if (r.outcome === 'skipped') logger.debug(fields, msg);
  else logger.info(fields, msg);
}
