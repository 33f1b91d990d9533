/**
 * Everything a node runs besides answering requests: the job workers, the outbox drain, the Postgres
 * wake-up listener and (unless turned off) the scheduler. `janua serve` starts it after it listens and stops
 * it on SIGTERM after in-flight requests; `stop()` lets running work finish for the grace period, then gives
 * back what is left (job leases, the scheduler's lease) so another node carries on.
 */
import type { Deps } from '../deps.js';
import { jobs } from '../store/repos/jobs.js';
import type { JobKind } from './kinds.js';
import { type EventConsumer, OutboxDrain } from './outbox-drain.js';
import { PgJobListener } from './pg-listener.js';
import { eventConsumers, jobKinds } from './registry.js';
import type { RunReport } from './run-scheduled.js';
import type { ScheduledJob } from './scheduled.js';
import { logRun, Scheduler } from './scheduler.js';
import { JobWorkers, type WorkerOptions } from './workers.js';

/** Metric label values (janua_jobs_processed_total, janua_job_runs_total). */
const ATTEMPT_OUTCOME = { succeeded: 'success', failed: 'failure', dead: 'dead' } as const;
const RUN_OUTCOME = { succeeded: 'success', failed: 'failure', skipped: 'skipped' } as const;

export interface BackgroundOptions {
  scheduler: boolean;
  /** Defaults: the registries (./registry.ts, ./scheduled.ts); tests hand in their own. */
  kinds?: JobKind[];
  consumers?: EventConsumer[];
  scheduledJobs?: readonly ScheduledJob[];
  onRun?: (report: RunReport) => void;
  onAttempt?: WorkerOptions['onAttempt'];
  /** Connection-level failures go to the node's outage log (one line per outage) instead of the workers'. */
  isOutage?: (err: unknown) => boolean;
}

export interface Background {
  workers: JobWorkers;
  drain: OutboxDrain;
  scheduler: Scheduler | undefined;
  stop(): Promise<void>;
}

export function startBackground(deps: Deps, options: BackgroundOptions): Background {
  const graceMs = deps.config.shutdownGraceSeconds * 1000;
  const { metrics } = deps;
  const workers = new JobWorkers(deps, options.kinds ?? jobKinds(deps), {
    pollMs: deps.config.jobsPollMs,
    shutdownGraceMs: graceMs,
    ...(options.isOutage ? { isOutage: options.isOutage } : {}),
    onAttempt: (kind, outcome, ms) => {
      metrics.jobsProcessed.inc({ kind, outcome: ATTEMPT_OUTCOME[outcome] });
      options.onAttempt?.(kind, outcome, ms);
    },
  });
  metrics.setJobDepthProvider(() => jobs.depth(deps.store.db));
  const drain = new OutboxDrain(deps, options.consumers ?? eventConsumers(deps), {
    pollMs: deps.config.jobsPollMs,
    ...(options.isOutage ? { isOutage: options.isOutage } : {}),
  });
  const listener =
    deps.store.dialect === 'postgres'
      ? new PgJobListener(deps.config.databaseUrl, deps.logger, (kind) => workers.wake(kind))
      : undefined;
  const scheduler = options.scheduler
    ? new Scheduler(
        deps,
        {
          shutdownGraceMs: graceMs,
          onRun: (r) => {
            logRun(deps.logger, r);
            metrics.jobRunFinished(r.job, RUN_OUTCOME[r.outcome], r.duration_ms / 1000);
            options.onRun?.(r);
          },
        },
        options.scheduledJobs,
      )
    : undefined;
  workers.start();
  drain.start();
  listener?.start();
  scheduler?.start();
  let stopping: Promise<void> | undefined;
  return {
    workers,
    drain,
    scheduler,
    stop() {
      stopping ??= (async () => {
        await Promise.all([workers.stop(), drain.stop(), scheduler?.stop(), listener?.stop()]);
        metrics.setJobDepthProvider(undefined);
      })();
      return stopping;
    },
  };
}
