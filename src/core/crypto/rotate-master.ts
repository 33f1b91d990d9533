/**
 * `janua keys rotate-master`: re-seals every sealed value (SEALED_COLUMNS and the peppers) that is not sealed
 * with the current master key, so the previous keys can be retired.
 *
 * Resumable by construction: a row already sealed with the current key is skipped (its envelope names the
 * key, secrets.ts), so a run that was stopped, crashed or hit rows it could not open is simply run again. Each
 * row is rewritten with a compare-and-set (`WHERE column = <what was read>`): a value changed concurrently
 * (a webhook secret rotated by an admin meanwhile) is left to the writer, which sealed it with a current key
 * or will be picked up by the next run. Batches are short transactions, so no long lock is held.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { audit, type RequestContext } from '../events/events.js';
import type { Store } from '../store/store.js';
import { PEPPER_PREFIX, PEPPER_PURPOSE } from './peppers.js';
import { SEALED_COLUMNS, type SealedColumn } from './sealed-columns.js';
import type { SecretBox } from './secrets.js';

export interface ColumnReport {
  table: string;
  column: string;
  scanned: number;
  resealed: number;
  /** Already sealed with the current key. */
  current: number;
  /** Changed by someone else between the read and the write (it was re-sealed by that writer). */
  skipped: number;
  failed: number;
}

export interface RotateMasterReport {
  key_id: string;
  previous_key_ids: string[];
  dry_run: boolean;
  columns: ColumnReport[];
  resealed: number;
  failed: number;
  /** The rows that could not be opened with any configured key (at most 100 listed). */
  failures: Array<{ table: string; column: string; key: string; error: string }>;
}

export interface RotateMasterOptions {
  batchSize?: number;
  dryRun?: boolean;
  onProgress?: (r: ColumnReport) => void;
}

type Deps = { store: Store; box: SecretBox; clock: Clock };
// Table and column names come from SEALED_COLUMNS (a constant list), never from input.
type AnyDb = Kysely<Record<string, Record<string, unknown>>>;

interface Row {
  key: string;
  value: string;
}

/** The pepper rows hold JSON `{box}`: they are walked as a column of their own, with their own codec. */
const PEPPERS: SealedColumn = { table: 'settings', key: 'key', column: 'value', purpose: PEPPER_PURPOSE };

async function readBatch(db: AnyDb, c: SealedColumn, after: string | null, limit: number): Promise<Row[]> {
  let q = db
    .selectFrom(c.table)
    .select([`${c.key} as key`, `${c.column} as value`])
    .where(c.column, 'is not', null)
    .orderBy(c.key)
    .limit(limit);
  if (c === PEPPERS) q = q.where('key', 'like', `${PEPPER_PREFIX}%`);
  if (after !== null) q = q.where(c.key, '>', after);
  const rows = (await q.execute()) as Array<{ key: unknown; value: unknown }>;
  return rows.map((r) => ({ key: String(r.key), value: pepperText(c, r.value) }));
}

/** A pepper's value column is JSON (text on SQLite, jsonb on Postgres); the rest are text envelopes. */
function pepperText(c: SealedColumn, value: unknown): string {
  if (c !== PEPPERS) return String(value);
  const v = typeof value === 'string' ? (JSON.parse(value) as { box: string }) : (value as { box: string });
  return v.box;
}

function encode(c: SealedColumn, sealed: string): unknown {
  return c === PEPPERS ? JSON.stringify({ box: sealed }) : sealed;
}

async function rotateColumn(
  deps: Deps,
  c: SealedColumn,
  opts: Required<Pick<RotateMasterOptions, 'batchSize' | 'dryRun'>>,
  failures: RotateMasterReport['failures'],
): Promise<ColumnReport> {
  const db = deps.store.db as unknown as AnyDb;
  const report: ColumnReport = {
    table: c.table,
    column: c.column,
    scanned: 0,
    resealed: 0,
    current: 0,
    skipped: 0,
    failed: 0,
  };
  let after: string | null = null;
  for (;;) {
    const rows = await readBatch(db, c, after, opts.batchSize);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.key;
    const updates: Array<Row & { next: string }> = [];
    for (const row of rows) {
      report.scanned++;
      try {
        if (deps.box.sealedWith(row.value) === deps.box.keyId) {
          report.current++;
          continue;
        }
        updates.push({ ...row, next: deps.box.seal(c.purpose, deps.box.open(c.purpose, row.value)) });
      } catch (err) {
        report.failed++;
        if (failures.length < 100)
          failures.push({ table: c.table, column: c.column, key: row.key, error: (err as Error).message });
      }
    }
    if (opts.dryRun) report.resealed += updates.length;
    else if (updates.length > 0) {
      await deps.store.transaction(async (tx) => {
        const t = tx as unknown as AnyDb;
        for (const u of updates) {
          const r = await t
            .updateTable(c.table)
            .set({ [c.column]: encode(c, u.next) })
            .where(c.key, '=', u.key)
            .where(c.column, '=', encode(c, u.value))
            .executeTakeFirst();
          if (Number(r.numUpdatedRows) === 1) report.resealed++;
          else report.skipped++;
        }
      });
    }
  }
  return report;
}

export async function rotateMasterKey(
  deps: Deps,
  ctx: RequestContext,
  options: RotateMasterOptions = {},
): Promise<RotateMasterReport> {
  const opts = { batchSize: options.batchSize ?? 500, dryRun: !!options.dryRun };
  const failures: RotateMasterReport['failures'] = [];
  const columns: ColumnReport[] = [];
  for (const c of [...SEALED_COLUMNS, PEPPERS]) {
    const r = await rotateColumn(deps, c, opts, failures);
    columns.push(r);
    options.onProgress?.(r);
  }
  const report: RotateMasterReport = {
    key_id: deps.box.keyId,
    previous_key_ids: deps.box.keyIds.slice(1),
    dry_run: opts.dryRun,
    columns,
    resealed: columns.reduce((n, r) => n + r.resealed, 0),
    failed: columns.reduce((n, r) => n + r.failed, 0),
    failures,
  };
  if (!opts.dryRun) {
    await deps.store.transaction((tx) =>
      audit(
        tx,
        ctx,
        {
          action: 'keys.master_rotated',
          outcome: report.failed ? 'failure' : 'success',
          targetType: 'master_key',
          targetId: report.key_id,
          metadata: { resealed: report.resealed, failed: report.failed, previous: report.previous_key_ids },
        },
        deps.clock.now(),
      ),
    );
  }
  return report;
}
