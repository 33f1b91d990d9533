import { type Command, InvalidArgumentError } from 'commander';
import { type BulkOutcome, cancelJobs, listJobs, presentJob, retryJobs } from '../../core/jobs/queue.js';
import { JOB_STATES, type JobState } from '../../core/store/repos/jobs.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io, table } from '../output.js';

const LIST_COLUMNS = ['id', 'kind', 'state', 'attempts', 'run_at', 'updated_at', 'last_error'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function state(v: string): JobState {
  if (!(JOB_STATES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${JOB_STATES.join(', ')}`);
  return v as JobState;
}

function limit(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected 1 to 10000');
  return n;
}

function ids(list: string[]): string[] {
  const bad = list.find((id) => !UUID.test(id));
  if (bad) throw new ExitWith(EXIT.USAGE, `error: "${bad}" is not a job id`);
  return list.map((id) => id.toLowerCase());
}

/** Prints what a retry or cancel did per id; exit 4 when no id was found, 3 when some did not change. */
function report(io: Io, json: boolean | undefined, verb: string, r: BulkOutcome): void {
  emitResult(io, json, r, (d) =>
    [
      ...d.changed.map((id) => `${verb} ${id}`),
      ...d.skipped.map((s) => `skipped ${s.id} (${s.state})`),
      ...d.missing.map((id) => `not found ${id}`),
      '',
    ].join('\n'),
  );
  const total = r.changed.length + r.skipped.length + r.missing.length;
  if (r.missing.length === total) throw new ExitWith(EXIT.NOT_FOUND, 'error: no such job');
  if (r.changed.length < total)
    throw new ExitWith(EXIT.PARTIAL, `error: ${total - r.changed.length} job(s) unchanged`);
}

export function registerJobs(program: Command, io: Io): void {
  const jobs = program.command('jobs').description('The durable job queue: list, retry, cancel');
  jobs
    .command('list')
    .description('Jobs, most recently changed first')
    .option('--kind <kind>', 'only this kind')
    .option('--state <state>', `only this state: ${JOB_STATES.join('|')}`, state)
    .option('--limit <n>', 'at most this many (default 100)', limit)
    .option('--json', 'print one JSON document: {jobs: [...]}')
    .action(async (o: { kind?: string; state?: JobState; limit?: number; json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const rows = await listJobs(c, { kind: o.kind, state: o.state, limit: o.limit ?? 100 });
        emitResult(io, o.json, { jobs: rows.map(presentJob) }, (d) =>
          d.jobs.length ? table(d.jobs, LIST_COLUMNS) : 'no jobs match\n',
        );
      });
    });
  jobs
    .command('retry <id...>')
    .description('Failed, dead or cancelled jobs back to pending, due now, with a fresh attempt budget')
    .option('--json', 'print one JSON document: {changed, skipped, missing}')
    .action(async (list: string[], o: { json?: boolean }, cmd: Command) => {
      const wanted = ids(list);
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) =>
        report(io, o.json, 'retrying', await retryJobs(c, wanted)),
      );
    });
  jobs
    .command('cancel <id...>')
    .description(
      'Cancel jobs that have not succeeded (a running one finishes, but its result is not recorded)',
    )
    .option('--json', 'print one JSON document: {changed, skipped, missing}')
    .action(async (list: string[], o: { json?: boolean }, cmd: Command) => {
      const wanted = ids(list);
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) =>
        report(io, o.json, 'cancelled', await cancelJobs(c, wanted)),
      );
    });
}
