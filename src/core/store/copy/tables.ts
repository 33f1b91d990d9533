/**
 * One table of a copy: its plan (columns with kinds, key, sequence), reading it in key order a page at a
 * time (keyset pagination: `WHERE key > last ORDER BY key LIMIT n`, which an index serves at any depth, unlike
 * OFFSET), writing a page, and carrying its sequence over.
 */
import { sql } from 'kysely';
import { JanuaError } from '../../errors.js';
import { anyDb, dataTables, dependencyOrder, type TableInfo } from '../introspect.js';
import type { Dialect } from '../migrations/types.js';
import type { Executor, Store } from '../store.js';
import { type Canonical, decode, encode, type KindedColumn, pairColumns } from './values.js';

export interface TablePlan {
  name: string;
  columns: KindedColumn[];
  primaryKey: string[];
  /** Positions of the key columns in `columns`. */
  keyIndexes: number[];
  sequence: string | undefined;
}

/**
 * The tables to copy, parents first, from the schemas of both sides: they must hold the same tables and
 * columns (the same migrations made them), each with a primary key to page by.
 */
export async function planCopy(
  source: Pick<Store, 'db' | 'dialect'>,
  target: Pick<Store, 'db' | 'dialect'>,
): Promise<TablePlan[]> {
  const [src, dst] = await Promise.all([dataTables(source), dataTables(target)]);
  const theirs = new Map(dst.map((t) => [t.name, t]));
  const onlySource = src.filter((t) => !theirs.has(t.name)).map((t) => t.name);
  const onlyTarget = dst.filter((t) => !src.some((s) => s.name === t.name)).map((t) => t.name);
  if (onlySource.length || onlyTarget.length)
    throw new JanuaError(
      'CONFLICT_ERROR',
      `the source and target schemas differ (${[
        ...onlySource.map((t) => `table ${t} only on the source`),
        ...onlyTarget.map((t) => `table ${t} only on the target`),
      ].join('; ')})`,
    );
  const merged: TableInfo[] = src.map((t) => ({
    ...t,
    references: [...new Set([...t.references, ...theirs.get(t.name)!.references])],
  }));
  return dependencyOrder(merged).map((t) => {
    const mine = theirs.get(t.name)!;
    if (!t.primaryKey.length || t.primaryKey.join() !== mine.primaryKey.join())
      throw new JanuaError(
        'CONFLICT_ERROR',
        t.primaryKey.length
          ? `table ${t.name} has a different primary key on the target`
          : `table ${t.name} has no primary key: db copy pages through every table by its primary key`,
      );
    const columns = pairColumns(
      { dialect: source.dialect, table: t },
      { dialect: target.dialect, table: mine },
    );
    const keyIndexes = t.primaryKey.map((k) => columns.findIndex((c) => c.name === k));
    for (const i of keyIndexes) {
      const c = columns[i]!;
      if (c.kind === 'json' || c.kind === 'bytes')
        throw new JanuaError('CONFLICT_ERROR', `table ${t.name} is keyed by ${c.kind} column ${c.name}`);
    }
    return {
      name: t.name,
      columns,
      primaryKey: t.primaryKey,
      keyIndexes,
      sequence: t.sequence ?? mine.sequence,
    };
  });
}

/** The columns to select: JSON as text on Postgres, so its numbers are never rounded through a JS number. */
function selection(store: Pick<Store, 'dialect'>, plan: TablePlan) {
  return plan.columns.map((c) =>
    store.dialect === 'postgres' && c.kind === 'json'
      ? sql<unknown>`${sql.ref(c.name)}::text`.as(c.name)
      : sql<unknown>`${sql.ref(c.name)}`.as(c.name),
  );
}

/** Rows after `after` (a key in canonical form; null for the start) in key order, at most `limit`. */
export async function readPage(
  store: Pick<Store, 'db' | 'dialect'>,
  plan: TablePlan,
  after: readonly Canonical[] | null,
  limit: number,
): Promise<Canonical[][]> {
  let query = anyDb(store.db).selectFrom(plan.name).select(selection(store, plan));
  if (after) {
    const key = plan.keyIndexes.map((i, n) => encode(after[n]!, plan.columns[i]!.kind));
    query = query.where(
      sql<boolean>`(${sql.join(plan.primaryKey.map((k) => sql.ref(k)))}) > (${sql.join(key)})`,
    );
  }
  for (const k of plan.primaryKey) query = query.orderBy(k);
  const rows = (await query.limit(limit).execute()) as Array<Record<string, unknown>>;
  return rows.map((r) => plan.columns.map((c) => decode(r[c.name], c.kind)));
}

export function keyOf(plan: TablePlan, row: readonly Canonical[]): Canonical[] {
  return plan.keyIndexes.map((i) => row[i]!);
}

/**
 * The pages after `after`, the last one short (possibly empty). The next page is read while the caller works
 * on the current one: a copy's source and target are different databases, so reading and writing overlap.
 */
export async function* pagesAfter(
  store: Pick<Store, 'db' | 'dialect'>,
  plan: TablePlan,
  after: readonly Canonical[] | null,
  limit: number,
): AsyncGenerator<Canonical[][]> {
  let next = readPage(store, plan, after, limit);
  for (;;) {
    const page = await next;
    const more = page.length === limit;
    if (more) {
      next = readPage(store, plan, keyOf(plan, page.at(-1)!), limit);
      // Awaited on the next turn; until then a failure must not count as unhandled if the caller stops.
      next.catch(() => {});
    }
    yield page;
    if (!more) return;
  }
}

/** Bound parameters per INSERT, under SQLite's default limit (32,766) and Postgres' (65,535). */
const MAX_PARAMS = 30_000;

export async function insertRows(tx: Executor, plan: TablePlan, rows: readonly Canonical[][]): Promise<void> {
  const per = Math.max(1, Math.floor(MAX_PARAMS / plan.columns.length));
  for (let i = 0; i < rows.length; i += per) {
    const values = rows.slice(i, i + per).map((row) => {
      const o: Record<string, unknown> = {};
      plan.columns.forEach((c, n) => {
        o[c.name] = encode(row[n]!, c.kind);
      });
      return o;
    });
    await anyDb(tx).insertInto(plan.name).values(values).execute();
  }
}

/** Where a table's sequence stands on the source: the highest value it has handed out, even if deleted since. */
export async function sequenceHighWater(
  store: Pick<Store, 'db' | 'dialect'>,
  plan: TablePlan,
): Promise<number> {
  if (!plan.sequence) return 0;
  const db = anyDb(store.db);
  if (store.dialect === 'postgres') {
    const { rows } = await sql<{ v: number | null }>`select pg_sequence_last_value(
        pg_get_serial_sequence(quote_ident(${plan.name}), ${plan.sequence})::regclass) as v`.execute(db);
    return Number(rows[0]?.v ?? 0);
  }
  const { rows } = await sql<{ seq: number }>`select seq from sqlite_sequence where name = ${plan.name}`
    .execute(db)
    .catch(() => ({ rows: [] as Array<{ seq: number }> }));
  return Number(rows[0]?.seq ?? 0);
}

/**
 * Sets the target's sequence past both the copied maximum and the source's high-water mark, so the next
 * row (an outbox event) gets a number never used on either side. Rows were inserted with their own numbers,
 * which Postgres sequences do not notice; SQLite's AUTOINCREMENT does, but not the source's high-water mark.
 */
export async function carrySequence(
  tx: Executor,
  dialect: Dialect,
  plan: TablePlan,
  highWater: number,
): Promise<void> {
  if (!plan.sequence) return;
  const col = sql.ref(plan.sequence);
  if (dialect === 'postgres') {
    await sql`select setval(pg_get_serial_sequence(quote_ident(${plan.name}), ${plan.sequence}), greatest(m, 1), m >= 1)
        from (select greatest(coalesce(max(${col}), 0), ${highWater}::bigint) as m from ${sql.table(plan.name)}) x`.execute(
      tx,
    );
    return;
  }
  if (highWater <= 0) return;
  const updated =
    await sql`update sqlite_sequence set seq = max(seq, ${highWater}) where name = ${plan.name}`.execute(tx);
  if (!Number(updated.numAffectedRows ?? 0))
    await sql`insert into sqlite_sequence (name, seq) values (${plan.name}, ${highWater})`.execute(tx);
}

/** Rows in a table (for progress totals). */
export async function countRows(store: Pick<Store, 'db'>, table: string): Promise<number> {
  const row = await anyDb(store.db)
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Whether a table has at least one row. */
export async function hasRows(store: Pick<Store, 'db'>, table: string): Promise<boolean> {
  const row = await anyDb(store.db).selectFrom(table).select(sql`1`.as('one')).limit(1).executeTakeFirst();
  return row !== undefined;
}
