/**
 * The outbox's read side. Events are written by `emit` (core/events/events.ts) in the transaction of the change
 * that caused them; the drain (core/jobs/outbox-drain.ts) hands them to their consumers and marks them handled
 * in one transaction, and `cleanup.outbox` deletes handled events past retention.
 */
import { type Selectable, sql, type Transaction } from 'kysely';
import { toDate, toJson } from '../codec.js';
import type { Dialect } from '../migrations/types.js';
import type { Database, OutboxTable } from '../schema.js';
import type { Executor } from '../store.js';
import { deletePicked } from './delete-picked.js';

export interface OutboxEvent {
  seq: number;
  id: string;
  type: string;
  aggregate: { type: string; id: string };
  payload: Record<string, unknown>;
  createdAt: Date;
}

function decode(r: Selectable<OutboxTable>): OutboxEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    type: r.event_type,
    aggregate: { type: r.aggregate_type, id: r.aggregate_id },
    payload: toJson(r.payload),
    createdAt: toDate(r.created_at),
  };
}

/** Written as a literal so both planners match the partial index `outbox_unhandled_idx`. */
const UNHANDLED = sql<boolean>`handled_at is null`;

export const outbox = {
  /**
   * The oldest unhandled events, locked for this transaction. On Postgres SKIP LOCKED lets another node's drain
   * take the next events instead of waiting; on SQLite the transaction already holds the write lock.
   */
  async lockUnhandled(tx: Transaction<Database>, dialect: Dialect, limit: number): Promise<OutboxEvent[]> {
    let q = tx.selectFrom('outbox').selectAll().where(UNHANDLED).orderBy('seq').limit(limit);
    if (dialect === 'postgres') q = q.forUpdate().skipLocked();
    return (await q.execute()).map(decode);
  },

  /** One unhandled event by its sequence number, locked like `lockUnhandled`; undefined if handled or taken. */
  async lockOne(tx: Transaction<Database>, dialect: Dialect, seq: number): Promise<OutboxEvent | undefined> {
    let q = tx.selectFrom('outbox').selectAll().where(UNHANDLED).where('seq', '=', seq);
    if (dialect === 'postgres') q = q.forUpdate().skipLocked();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  /** Sequence numbers of the oldest unhandled events (no lock). */
  async unhandledSeqs(ex: Executor, limit: number): Promise<number[]> {
    const rows = await ex
      .selectFrom('outbox')
      .select('seq')
      .where(UNHANDLED)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.seq));
  },

  async markHandled(ex: Executor, seqs: readonly number[], now: Date): Promise<void> {
    if (seqs.length === 0) return;
    await ex.updateTable('outbox').set({ handled_at: now }).where('seq', 'in', seqs).execute();
  },

  async unhandledCount(ex: Executor): Promise<number> {
    const row = await ex
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(UNHANDLED)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** Deletes up to `limit` events handled before `before`; returns how many. */
  async deleteHandled(ex: Executor, before: Date, limit: number): Promise<number> {
    return deletePicked(ex, 'outbox', 'seq', (q) =>
      q.where('handled_at', '<', before).orderBy('handled_at').limit(limit),
    );
  },
};
