/**
 * A scheduled job's lease: while one process runs a job, no other (another node, or `janua cron run` beside the
 * daemon) runs it.
 *
 * - Postgres: a session advisory lock held on one pooled connection for the whole run. If the process dies,
 *   its connection closes and the server releases the lock at once.
 * - SQLite: a row in `leases` with an expiry, taken by an upsert that only overwrites an expired row, renewed
 *   while the job runs. If the process dies, the row expires after `LEASE_TTL_MS` and the next run takes it.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import { NODE_ID } from '../node-id.js';
import type { Store } from '../store/store.js';

export const LEASE_TTL_MS = 60_000;

export interface Held {
  /** Who holds it (node and run), as recorded. */
  holder: string;
}

/** The key of a job's advisory lock: a namespaced name hashed by Postgres itself. */
const lockKey = (name: string) => `janua:lease:${name}`;

/**
 * Runs `fn` holding the lease `name`; returns `{ ran: false }` at once when another process holds it.
 */
export async function withLease<T>(
  deps: { store: Store; clock: Clock },
  name: string,
  fn: (held: Held) => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  const holder = `${NODE_ID}:${randomUUID().slice(0, 8)}`;
  if (deps.store.dialect === 'postgres') {
    return deps.store.db.connection().execute(async (conn) => {
      const { rows } = await sql<{
        ok: boolean;
      }>`select pg_try_advisory_lock(hashtext(${lockKey(name)})) as ok`.execute(conn);
      if (!rows[0]?.ok) return { ran: false as const };
      try {
        return { ran: true as const, value: await fn({ holder }) };
      } finally {
        await sql`select pg_advisory_unlock(hashtext(${lockKey(name)}))`.execute(conn).catch(() => {});
      }
    });
  }
  const { db } = deps.store;
  const now = deps.clock.now();
  const taken = await db
    .insertInto('leases')
    .values({ name, holder, expires_at: new Date(now.getTime() + LEASE_TTL_MS) })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: new Date(now.getTime() + LEASE_TTL_MS) })
        .where('leases.expires_at', '<=', now),
    )
    .returning('holder')
    .execute();
  if (taken[0]?.holder !== holder) return { ran: false };
  // Renewed on the wall clock (timers), stamped with the deps clock, like every other time we store.
  const renew = setInterval(() => {
    db.updateTable('leases')
      .set({ expires_at: new Date(deps.clock.now().getTime() + LEASE_TTL_MS) })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute()
      .catch(() => {});
  }, LEASE_TTL_MS / 3);
  try {
    return { ran: true, value: await fn({ holder }) };
  } finally {
    clearInterval(renew);
    await db
      .deleteFrom('leases')
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute()
      .catch(() => {});
  }
}
