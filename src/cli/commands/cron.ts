import type { Command } from 'commander';
import { cronStatus } from '../../core/jobs/cron-status.js';
import { runScheduledJob } from '../../core/jobs/run-scheduled.js';
import { findScheduledJob, SCHEDULED_JOBS } from '../../core/jobs/scheduled.js';
import { logRun, Scheduler } from '../../core/jobs/scheduler.js';
import { createLogger, flushLogger } from '../../core/logger.js';
import { configFrom, type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io, table } from '../output.js';
import type { ServeSignals } from './serve.js';

const LIST_COLUMNS = ['job', 'schedule', 'last_run', 'outcome', 'duration_ms', 'rows_affected', 'next_run'];

function knownJobs(): string {
  return SCHEDULED_JOBS.map((j) => j.name).join(', ');
}

export function registerCron(program: Command, io: Io, signals: ServeSignals): void {
  const cron = program
    .command('cron')
    .description(
      'Scheduled jobs. Alone: run the scheduler in the foreground (one log line per run) until SIGTERM/SIGINT.',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      // A foreground process like `serve`: its run lines go to stdout at the configured level (info).
      const config = configFrom(io, globals);
      const logger = createLogger({ level: config.logLevel, format: config.logFormat, fd: 1 });
      await withContainer(io, globals, { masterKey: 'lazy', logger }, async (c) => {
        const scheduler = new Scheduler(c, {
          shutdownGraceMs: c.config.shutdownGraceSeconds * 1000,
          onRun: (r) => logRun(logger, r),
        });
        scheduler.start();
        const plan = scheduler.plan().map(({ job, schedule }) => `${job.name}=${schedule ?? 'off'}`);
        logger.info({ jobs: plan }, 'janua cron: scheduler running');
        const signal = await signals.stopRequested;
        logger.info({ signal }, 'stopping: letting running jobs finish');
        await scheduler.stop();
        logger.info('stopped');
      });
      await flushLogger(logger);
    });

  cron
    .command('list')
    .description('Every scheduled job: schedule, last run (outcome, duration, rows affected), next run')
    .option('--json', 'print one JSON document: {jobs: [...]}')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), { masterKey: 'lazy' }, async (c) => {
        const jobs = await cronStatus(c);
        emitResult(io, opts.json, { jobs }, (d) =>
          table(
            d.jobs.map((j) => ({ ...j, schedule: j.schedule ?? 'off' })),
            LIST_COLUMNS,
          ),
        );
      });
    });

  cron
    .command('run <job>')
    .description(
      `Run one job once and exit with its outcome (0 done or skipped because it runs elsewhere, 1 failed). Jobs: ${knownJobs()}`,
    )
    .option('--json', 'print one JSON document: the run report')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const job = findScheduledJob(name);
      if (!job) throw new ExitWith(EXIT.USAGE, `error: unknown job "${name}"; jobs: ${knownJobs()}`);
      const report = await withContainer(
        io,
        cmd.optsWithGlobals<GlobalOptions>(),
        { masterKey: 'lazy' },
        (c) => runScheduledJob(c, job, { trigger: 'manual' }),
      );
      emitResult(
        io,
        opts.json,
        report,
        (r) => `${r.job} ${r.outcome} in ${r.duration_ms} ms, ${r.rows_affected} rows: ${r.detail}\n`,
      );
      if (report.outcome === 'failed') throw new ExitWith(EXIT.FAILURE, `error: ${report.job} failed`);
    });
}
