/**
 * `janua db copy`: a whole installation from one database to another (SQLite → Postgres, or back).
 *
 * 1. The source must be fully migrated by this janua; the copy only reads it.
 * 2. The target must be empty, or hold an interrupted copy of the same source (then the copy resumes);
 *    `force` empties anything else first. Nothing is written to a target that is refused.
 * 3. The target is migrated to the same versions, and both schemas are read to plan the tables, parents
 *    first (see ./tables.ts).
 * 4. Each table is copied in pages by primary key, each page in one target transaction with its progress.
 * 5. Row counts and checksums of every table are compared on both sides (./values.ts); the progress record
 *    is dropped only when every table matches.
 */
import { sql } from 'kysely';
import { JanuaError } from '../../errors.js';
import { allTables, anyDb, databaseIdentity, dataTables, dependencyOrder } from '../introspect.js';
import { migrate, migrationStatus } from '../migrator.js';
import type { Store } from '../store.js';
import { advance, dropProgress, readProgress, startProgress, type TableProgress } from './progress.js';
import {
  carrySequence,
  countRows,
  hasRows,
  insertRows,
  keyOf,
  pagesAfter,
  planCopy,
  sequenceHighWater,
  type TablePlan,
} from './tables.js';
import { TableChecksum } from './values.js';

export interface CopyEnd {
  store: Store;
  /** How the end is named in messages and in the progress record (a password never appears). */
  name: string;
}

export interface TableReport {
  table: string;
  source_rows: number;
  target_rows: number;
  source_checksum: string;
  target_checksum: string;
  verified: boolean;
}

export interface CopyReport {
  source: string;
  target: string;
  /** An interrupted copy of the same source was continued. */
  resumed: boolean;
  /** The target held data (or another copy) and `force` emptied it first. */
  emptied: boolean;
  /** Schema versions of both sides. */
  schema_versions: number[];
  tables: TableReport[];
  verified: boolean;
}

export type CopyEvent =
  | {
      type: 'start';
      tables: Array<{ table: string; rows: number; copied: number }>;
      resumed: boolean;
      emptied: boolean;
    }
  | { type: 'progress'; table: string; copied: number; total: number }
  | { type: 'table'; table: string; copied: number; total: number }
  | { type: 'verifying'; tables: number }
  | { type: 'verified'; report: TableReport };

export interface CopyOptions {
  source: CopyEnd;
  target: CopyEnd;
  /** Rows per page, and per target transaction. */
  batchSize: number;
  /** Empty a target that holds data (or another source's interrupted copy) instead of refusing. */
  force: boolean;
  onEvent?: (event: CopyEvent) => void;
  /** Stops the copy after the batch in flight (its progress committed), with CopyStopped. */
  signal?: AbortSignal;
}

/** The copy was asked to stop; everything committed so far is recorded, and the same call resumes it. */
export class CopyStopped extends Error {
  constructor(readonly copiedRows: number) {
    super(`stopped after ${copiedRows} rows in this run: run the same command again to resume`);
    this.name = 'CopyStopped';
  }
}

/** Refuses a source that this janua has not fully migrated: the target would be migrated further. */
async function checkSource(source: CopyEnd): Promise<number[]> {
  const status = await migrationStatus(source.store);
  const bad = status.find((s) => s.state === 'unknown' || s.state === 'checksum_mismatch');
  if (bad)
    throw new JanuaError(
      'CONFLICT_ERROR',
      bad.state === 'unknown'
        ? `the source database has migration ${bad.version} (${bad.name}) that this janua does not know: copy it with the janua that migrated it`
        : `the source database's migration ${bad.version} (${bad.name}) differs from this janua's`,
    );
  const pending = status.filter((s) => s.state === 'pending').length;
  if (pending)
    throw new JanuaError(
      'SERVICE_UNAVAILABLE',
      `the source database has ${pending} pending schema migration(s): run \`janua db migrate\` on it first`,
    );
  return status.map((s) => s.version);
}

interface TargetState {
  progress: Map<string, TableProgress> | undefined;
  /** Data tables holding rows. */
  withRows: string[];
}

async function inspectTarget(target: CopyEnd): Promise<TargetState> {
  const status = await migrationStatus(target.store);
  const bad = status.find((s) => s.state === 'unknown' || s.state === 'checksum_mismatch');
  if (bad)
    throw new JanuaError(
      'CONFLICT_ERROR',
      `the target database has migration ${bad.version} (${bad.name}) ${bad.state === 'unknown' ? 'that this janua does not know' : "that differs from this janua's"}: it is not a database this janua can copy into`,
    );
  const names = (await allTables(target.store)).map((t) => t.name);
  const withRows: string[] = [];
  for (const t of await dataTables(target.store))
    if (await hasRows(target.store, t.name)) withRows.push(t.name);
  return { progress: await readProgress(target.store, names), withRows };
}

/**
 * Deletes every row of the target and its progress record, in one transaction: on Postgres one TRUNCATE of
 * all the tables (no row-by-row delete), on SQLite a DELETE per table, children first.
 */
async function emptyTarget(target: Store): Promise<void> {
  const order = dependencyOrder(await dataTables(target)).reverse();
  await target.transaction(async (tx) => {
    if (target.dialect === 'postgres' && order.length)
      await sql`truncate table ${sql.join(order.map((t) => sql.table(t.name)))}`.execute(tx);
    else for (const t of order) await anyDb(tx).deleteFrom(t.name).execute();
    await dropProgress(tx);
  });
}

async function copyTable(
  o: CopyOptions,
  plan: TablePlan,
  start: TableProgress,
  total: number,
  stats: { copied: number },
): Promise<TableProgress> {
  const { source, target } = o;
  let p = start;
  if (p.done) return p;
  for await (const page of pagesAfter(source.store, plan, p.lastKey, o.batchSize)) {
    const last = page.length < o.batchSize;
    const highWater = last ? await sequenceHighWater(source.store, plan) : 0;
    const before = p;
    p = await target.store.transaction(async (tx) => {
      if (page.length) await insertRows(tx, plan, page);
      if (last) await carrySequence(tx, target.store.dialect, plan, highWater);
      return advance(tx, before, page.length ? keyOf(plan, page.at(-1)!) : before.lastKey, page.length, last);
    });
    o.onEvent?.({ type: 'progress', table: plan.name, copied: p.rows, total: Math.max(total, p.rows) });
    if (o.signal?.aborted && !p.done) throw new CopyStopped(stats.copied + p.rows - start.rows);
  }
  stats.copied += p.rows - start.rows;
  return p;
}

/** Counts and checksums one table on both sides, reading both at once. */
async function verifyTable(o: CopyOptions, plan: TablePlan): Promise<TableReport> {
  const pageSize = Math.max(o.batchSize, 1000);
  const side = async (store: Store) => {
    const sum = new TableChecksum(plan.columns);
    for await (const page of pagesAfter(store, plan, null, pageSize)) for (const row of page) sum.add(row);
    return sum;
  };
  const [s, t] = await Promise.all([side(o.source.store), side(o.target.store)]);
  return {
    table: plan.name,
    source_rows: s.rows,
    target_rows: t.rows,
    source_checksum: s.hex(),
    target_checksum: t.hex(),
    verified: s.rows === t.rows && s.hex() === t.hex(),
  };
}

export async function copyDatabase(o: CopyOptions): Promise<CopyReport> {
  const { source, target } = o;
  const versions = await checkSource(source);
  // Never copy a database onto itself (with --force that would empty it): two URLs may name the same one.
  if ((await databaseIdentity(source.store)) === (await databaseIdentity(target.store)))
    throw new JanuaError('BAD_REQUEST', 'the target is the source database itself: give another database');
  const state = await inspectTarget(target);
  const sources = new Set([...(state.progress?.values() ?? [])].map((p) => p.source));
  const otherSource = [...sources].find((s) => s !== source.name);
  if (!o.force) {
    if (otherSource)
      throw new JanuaError(
        'CONFLICT_ERROR',
        `the target holds an interrupted copy of another database (${otherSource}): re-run with --force to empty it and start over`,
      );
    if (!state.progress && state.withRows.length)
      throw new JanuaError(
        'CONFLICT_ERROR',
        `the target database is not empty (${state.withRows.join(', ')} hold rows): re-run with --force to empty it first`,
      );
  }
  const emptied = o.force && (state.progress !== undefined || state.withRows.length > 0);
  if (emptied) await emptyTarget(target.store);
  const resumed = !emptied && state.progress !== undefined;

  await migrate(target.store);
  const targetVersions = (await migrationStatus(target.store)).map((s) => s.version);
  if (targetVersions.join() !== versions.join())
    throw new JanuaError(
      'CONFLICT_ERROR',
      `schema versions differ: source ${versions.join(',')}, target ${targetVersions.join(',')}`,
    );

  const plan = await planCopy(source.store, target.store);
  const progress = await startProgress(target.store, source.name, plan);
  const totals = new Map<string, number>();
  for (const t of plan) totals.set(t.name, await countRows(source.store, t.name));
  o.onEvent?.({
    type: 'start',
    tables: plan.map((t) => ({
      table: t.name,
      rows: totals.get(t.name)!,
      copied: progress.get(t.name)!.rows,
    })),
    resumed,
    emptied,
  });
  const stats = { copied: 0 };
  for (const t of plan) {
    const done = await copyTable(o, t, progress.get(t.name)!, totals.get(t.name)!, stats);
    o.onEvent?.({ type: 'table', table: t.name, copied: done.rows, total: totals.get(t.name)! });
  }

  o.onEvent?.({ type: 'verifying', tables: plan.length });
  const tables: TableReport[] = [];
  for (const t of plan) {
    if (o.signal?.aborted) throw new CopyStopped(stats.copied);
    const report = await verifyTable(o, t);
    tables.push(report);
    o.onEvent?.({ type: 'verified', report });
  }
  const verified = tables.every((t) => t.verified);
  // A mismatch keeps the record: a re-run without --force verifies again, with --force starts over.
  if (verified) await target.store.transaction((tx) => dropProgress(tx));
  return {
    source: source.name,
    target: target.name,
    resumed,
    emptied,
    schema_versions: versions,
    tables,
    verified,
  };
}
