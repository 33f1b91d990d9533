/**
 * The write of a refresh-token rotation, as one statement (see core/auth/rotation.ts for when it applies):
 * spend the presented token if it is unspent and unexpired and its session is live and its user active,
 * extend that session, and store the successor. Each dialect has its own form of that one statement:
 *
 * - Postgres: data-modifying CTEs (one rotation per statement; its pool runs many at once). The UPDATE
 *   that spends takes the token's row lock and re-checks `used_at IS NULL` after waiting on it, so of two
 *   concurrent presentations of one token exactly one spends it.
 * - SQLite has no data-modifying CTEs, and every statement of a multi-statement write is a thread-pool
 *   round trip of its own through node-sqlite3 (seven per group of rotations, ~0.5 ms each under load,
 *   most of a refresh's time in the single writer). So a whole group goes into a connection-private TEMP
 *   table in one INSERT … SELECT, which decides each row's session; a TEMP trigger on that table does the
 *   three writes for each row that has one, and RETURNING reports the outcome. One statement is atomic on
 *   its own, and the writer runs one statement at a time, so nothing can change between the check and the
 *   writes.
 *
 * The conditions are those of core/auth/service.ts `rotateChecked`, which judges every other case.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import type { Dialect } from '../migrations/types.js';
import type { Executor } from '../store.js';

export interface RotationWrite {
  /** Hash of the token presented. */
  tokenHash: string;
  /** Hash of its successor, stored when the rotation succeeds. */
  nextHash: string;
}

/** The temp table and its trigger: created on the writing connection on first use (they are per connection). */
const SQLITE_SETUP = [
  `CREATE TEMP TABLE IF NOT EXISTS janua_rotation (
     ord INTEGER PRIMARY KEY, token_hash TEXT NOT NULL, next_hash TEXT NOT NULL, next_id TEXT NOT NULL,
     session_id TEXT, now INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
  `CREATE TEMP TRIGGER IF NOT EXISTS janua_rotation_apply AFTER INSERT ON janua_rotation
   WHEN NEW.session_id IS NOT NULL
   BEGIN
     UPDATE refresh_tokens SET used_at = NEW.now WHERE token_hash = NEW.token_hash;
     UPDATE sessions SET last_used_at = NEW.now, expires_at = NEW.expires_at WHERE id = NEW.session_id;
     INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
       VALUES (NEW.next_id, NEW.session_id, NEW.next_hash, NEW.now, NEW.expires_at);
   END`,
];

/** Set-up per database (keyed by its Kysely adapter, one per store); dropped if it fails, so it is retried. */
const sqliteReady = new WeakMap<object, Promise<void>>();

function sqliteSetup(ex: Executor): Promise<void> {
  const key = ex.getExecutor().adapter;
  let ready = sqliteReady.get(key);
  if (!ready) {
    ready = (async () => {
      for (const ddl of SQLITE_SETUP) await ex.executeQuery(CompiledQuery.raw(ddl));
    })();
    ready.catch(() => sqliteReady.delete(key));
    sqliteReady.set(key, ready);
  }
  return ready;
}

/**
 * The group statement for `n` rotations (?1 = now, ?2 = expiry, then token hash, successor hash and
 * successor id per row). INSERT OR REPLACE on `ord` keeps the temp table at one group's rows.
 */
const sqliteStatements = new Map<number, string>();
function sqliteStatement(n: number): string {
  let text = sqliteStatements.get(n);
  if (!text) {
    const rows = Array.from({ length: n }, (_, i) => `(${i}, ?${3 * i + 3}, ?${3 * i + 4}, ?${3 * i + 5})`);
    text = `INSERT OR REPLACE INTO janua_rotation (ord, token_hash, next_hash, next_id, session_id, now, expires_at)
SELECT v.column1, v.column2, v.column3, v.column4,
  (SELECT rt.session_id FROM refresh_tokens rt
     JOIN sessions s ON s.id = rt.session_id
     JOIN users u ON u.id = s.user_id
   WHERE rt.token_hash = v.column2 AND rt.used_at IS NULL AND rt.expires_at > ?1
     AND s.revoked_at IS NULL AND s.expires_at > ?1 AND u.status = 'active'),
  ?1, ?2
FROM (VALUES ${rows.join(', ')}) v
RETURNING ord, session_id`;
    sqliteStatements.set(n, text);
  }
  return text;
}

async function applySqlite(
  ex: Executor,
  batch: RotationWrite[],
  now: Date,
  expiresAt: Date,
): Promise<Array<string | undefined>> {
  await sqliteSetup(ex);
  // A token presented twice in one group is tried once; the other presentations answer undefined, and
  // the caller judges them (as replays, once the first has spent it).
  const first = new Map<string, number>();
  for (const [i, r] of batch.entries()) if (!first.has(r.tokenHash)) first.set(r.tokenHash, i);
  const rows = [...first.values()];
  const params: unknown[] = [now, expiresAt];
  for (const i of rows) params.push(batch[i]!.tokenHash, batch[i]!.nextHash, randomUUID());
  const { rows: out } = await ex.executeQuery<{ ord: number; session_id: string | null }>(
    CompiledQuery.raw(sqliteStatement(rows.length), params),
  );
  const sessionOf = new Map<number, string>();
  for (const o of out) if (o.session_id !== null) sessionOf.set(rows[o.ord]!, o.session_id);
  return batch.map((_, i) => sessionOf.get(i));
}

async function applyPostgres(
  ex: Executor,
  r: RotationWrite,
  now: Date,
  expiresAt: Date,
): Promise<string | undefined> {
  const { rows } = await sql<{ session_id: string }>`
    WITH spent AS (
      UPDATE refresh_tokens AS rt SET used_at = ${now}
      FROM sessions AS s, users AS u
      WHERE rt.token_hash = ${r.tokenHash} AND rt.used_at IS NULL AND rt.expires_at > ${now}
        AND s.id = rt.session_id AND s.revoked_at IS NULL AND s.expires_at > ${now}
        AND u.id = s.user_id AND u.status = 'active'
      RETURNING rt.session_id
    ), extended AS (
      UPDATE sessions SET last_used_at = ${now}, expires_at = ${expiresAt}
      WHERE id IN (SELECT session_id FROM spent)
    ), successor AS (
      INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
      SELECT ${randomUUID()}::uuid, session_id, ${r.nextHash}::text, ${now}::timestamptz, ${expiresAt}::timestamptz
      FROM spent
    )
    SELECT session_id FROM spent`.execute(ex);
  return rows[0]?.session_id;
}

export const rotations = {
  /**
   * Rotates each token of `batch` that may be rotated (see the module comment): per rotation, the id of
   * the session it extended, or undefined when it changed nothing. One statement on SQLite for the whole
   * batch; one per rotation, in order, on Postgres.
   */
  async apply(
    ex: Executor,
    dialect: Dialect,
    batch: RotationWrite[],
    now: Date,
    expiresAt: Date,
  ): Promise<Array<string | undefined>> {
    if (batch.length === 0) return [];
    if (dialect === 'sqlite') return applySqlite(ex, batch, now, expiresAt);
    // In order, so that of two presentations of one token the first is the one that spends it, as on SQLite.
    const out: Array<string | undefined> = [];
    for (const r of batch) out.push(await applyPostgres(ex, r, now, expiresAt));
    return out;
  },
};
