/**
 * What every phase of a migration run works with (./run.ts builds it): the core, the options, the report, the
 * progress callback and the checkpoint maker; and the one loop the record phases share.
 */
import type { Container } from '../../core/container.js';
import { CLI_CONTEXT, type RequestContext } from '../../core/events/events.js';
import { checkpointImportRun } from '../../core/imports/runs.js';
import type { BatchCheckpoint } from '../../core/imports/types.js';
import type { MigrationReport, Phase } from './report.js';
import type { MigrateOptions, Progress } from './run.js';
import type { SourceRecord } from './types.js';

export type Deps = Pick<Container, 'store' | 'clock' | 'config'>;

/** Every import is the operator's, at the command line. */
export const CTX: RequestContext = { ...CLI_CONTEXT };

export interface RunCtx {
  deps: Deps;
  o: MigrateOptions;
  report: MigrationReport;
  progress: (phase: Phase, extra?: Partial<Progress>) => void;
  cp: (phase: Phase, position: number) => BatchCheckpoint | undefined;
  exportChanged: () => boolean;
  /** Keys that phases paging by key resume after (in the checkpoint's stats). */
  cursors: Record<string, string>;
}

export function problem(
  c: RunCtx,
  phase: Phase,
  kind: 'failed' | 'warning',
  item: { index?: number; id?: string; email?: string; reason: string },
) {
  const full = { phase, ...item };
  if (kind === 'failed') c.report.fail(full);
  else c.report.warn(full);
  const who = [item.index !== undefined ? `#${item.index}` : '', item.id ?? '', item.email ?? '']
    .filter(Boolean)
    .join(' ');
  c.progress(phase, { problem: { kind, text: `${phase} ${who}: ${item.reason}` } });
}

/**
 * The loop of a phase over records: skips the `from` records a committed batch already consumed, counts and
 * maps each (`take` reports what it cannot map and returns undefined), and hands full batches to `write`
 * with the checkpoint that says how far the batch takes the phase (written in the batch's transaction).
 * `restartAt`, asked at the first record, may move the starting point (a new export: see runUsers).
 */
export async function batchedPhase<T>(
  c: RunCtx,
  phase: Phase,
  resumeFrom: number,
  records: AsyncIterable<SourceRecord<unknown>>,
  take: (rec: SourceRecord<unknown>) => T | undefined,
  write: (batch: T[], cp: BatchCheckpoint | undefined) => Promise<void>,
  restartAt?: () => number | undefined,
): Promise<void> {
  let from = resumeFrom;
  let batch: T[] = [];
  let consumed = from;
  let first = true;
  const flush = async () => {
    const cp = c.cp(phase, consumed);
    if (batch.length) await write(batch, cp);
    else if (cp) await checkpointImportRun(c.deps, cp);
    batch = [];
    c.progress(phase);
  };
  for await (const rec of records) {
    if (first) from = restartAt?.() ?? from;
    first = false;
    if (rec.index <= from) continue;
    c.report.count(phase, 'read');
    consumed = rec.index;
    const item =
      rec.error !== undefined
        ? void problem(c, phase, 'failed', { index: rec.index, reason: rec.error })
        : take(rec);
    if (item !== undefined) batch.push(item);
    if (batch.length >= c.o.batchSize) await flush();
    c.o.signal?.throwIfAborted();
  }
  await flush();
}
