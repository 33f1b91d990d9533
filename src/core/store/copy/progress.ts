/**
 * The copy's progress record, kept on the target: one row per table naming the source, the last key copied
 * and whether the table is finished. Each page of rows and the advance of its table's row commit in one
 * target transaction, so after a crash or a kill the record says exactly which rows are there: a re-run
 * resumes after them and copies none twice. The record is dropped once the copy is verified.
 */
import { sql } from 'kysely';
import { JanuaError } from '../../errors.js';
import { anyDb, PROGRESS_TABLE } from '../introspect.js';
import type { Executor, Store } from '../store.js';
import type { TablePlan } from './tables.js';
import type { Canonical } from './values.js';

export interface TableProgress {
  table: string;
  source: string;
  /** The last key copied, in canonical form; null before the first page. */
  lastKey: Canonical[] | null;
  rows: number;
  done: boolean;
}

interface ProgressRow {
  table_name: string;
  source: string;
  last_key: string | null;
  rows_copied: number | string;
  done: number | string;
}

/** The record on the target, or undefined when the target holds none (no copy started, or one finished). */
export async function readProgress(
  store: Pick<Store, 'db'>,
  tables: readonly string[],
): Promise<Map<string, TableProgress> | undefined> {
  if (!tables.includes(PROGRESS_TABLE)) return undefined;
  const rows = (await anyDb(store.db).selectFrom(PROGRESS_TABLE).selectAll().execute()) as ProgressRow[];
  return new Map(
    rows.map((r) => [
      r.table_name,
      {
        table: r.table_name,
        source: r.source,
        lastKey: r.last_key === null ? null : (JSON.parse(r.last_key) as Canonical[]),
        rows: Number(r.rows_copied),
        done: Number(r.done) === 1,
      },
    ]),
  );
}

/** Creates the record if needed, with a row for every planned table that has none yet. */
export async function startProgress(
  store: Store,
  source: string,
  plan: readonly TablePlan[],
): Promise<Map<string, TableProgress>> {
  await store.transaction(async (tx) => {
    await tx.schema
      .createTable(PROGRESS_TABLE)
      .ifNotExists()
      .addColumn('table_name', 'text', (c) => c.primaryKey())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('last_key', 'text')
      .addColumn('rows_copied', 'bigint', (c) => c.notNull())
      .addColumn('done', 'integer', (c) => c.notNull())
      .execute();
    const db = anyDb(tx);
    const have = new Set(
      ((await db.selectFrom(PROGRESS_TABLE).select('table_name').execute()) as ProgressRow[]).map(
        (r) => r.table_name,
      ),
    );
    const missing = plan.filter((t) => !have.has(t.name));
    if (missing.length)
      await db
        .insertInto(PROGRESS_TABLE)
        .values(missing.map((t) => ({ table_name: t.name, source, last_key: null, rows_copied: 0, done: 0 })))
        .execute();
  });
  return (await readProgress(store, [PROGRESS_TABLE]))!;
}

/**
 * Moves a table's row from `from` to `to` inside the page's transaction. The update names the key it
 * expects to replace, so a second copy writing to the same target at the same time fails here (its
 * transaction rolls back) instead of interleaving pages.
 */
export async function advance(
  tx: Executor,
  p: TableProgress,
  to: readonly Canonical[] | null,
  rows: number,
  done: boolean,
): Promise<TableProgress> {
  const from = p.lastKey === null ? null : JSON.stringify(p.lastKey);
  const next = to === null ? null : JSON.stringify(to);
  const result = await anyDb(tx)
    .updateTable(PROGRESS_TABLE)
    .set({ last_key: next, rows_copied: p.rows + rows, done: done ? 1 : 0 })
    .where('table_name', '=', p.table)
    .where('last_key', from === null ? 'is' : '=', from)
    .where('done', '=', 0)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1)
    throw new JanuaError(
      'CONFLICT_ERROR',
      `the copy's progress record for ${p.table} changed under it: is another \`janua db copy\` writing to this target?`,
    );
  return { ...p, lastKey: to === null ? null : [...to], rows: p.rows + rows, done };
}

export async function dropProgress(tx: Executor): Promise<void> {
  await sql`drop table if exists ${sql.table(PROGRESS_TABLE)}`.execute(tx);
}
