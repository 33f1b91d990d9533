/**
 * The write of a refresh-token rotation, as one statement (see core/auth/rotation.ts for when it applies):
 * spend the presented token if it is unspent and unexpired and its session is live and its user active,
 * extend that session, store the successor, and answer with the session and its user. Each dialect has its
 * own form of that one statement:
 *
 * - Postgres: data-modifying CTEs (one rotation per statement; its pool runs many at once). The UPDATE
 *   that spends takes the token's row lock and re-checks `used_at IS NULL` after waiting on it, so of two
 *   concurrent presentations of one token exactly one spends it.
 * - SQLite has no data-modifying CTEs, and every statement of a multi-statement write is a thread-pool
 *   round trip of its own through node-sqlite3 (seven per group of rotations, ~0.5 ms each under load,
 *   most of a refresh's time in the single writer). So a whole group goes into a connection-private TEMP
 *   table in one INSERT … SELECT, which decides each row's session; a TEMP trigger on that table does the
 *   three writes for each row that has one, and RETURNING reports the outcome with the session and user
 *   as one JSON object (RETURNING cannot join, a subquery in it can). One statement is atomic on its own,
 *   and it opens its write transaction on every database it or its trigger writes before it reads anything
 *   (the program's first instructions), so beside another process's write (a CLI command, `janua cron`)
 *   it waits on the busy timeout as BEGIN IMMEDIATE would, and nothing can change between the check and
 *   the writes (contract test: "rotate does not fail beside another connection's write transaction").
 *
 * The conditions are those of core/auth/service.ts `rotateChecked`, which judges every other case.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import type { User } from '../../users/model.js';
import type { Dialect } from '../migrations/types.js';
import type { Executor } from '../store.js';
import { decodeWithUser, type FindWithUserRow, SESSION_COLUMNS, type Session } from './sessions.js';

export interface RotationWrite {
  /** Hash of the token presented. */
  tokenHash: string;
  /** Hash of its successor, stored when the rotation succeeds. */
  nextHash: string;
}

/** A rotation done: its session (extended) and the session's user. */
export type RotationDone = { session: Session; user: User };

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

/**
 * The row `decodeWithUser` takes, built by SQLite as a JSON object: every column of `users` (read from the
 * schema, so a column added by a later migration is included) and the session's as SESSION_COLUMNS.
 */
async function sqliteRowJson(ex: Executor): Promise<string> {
  const { rows } = await ex.executeQuery<{ name: string }>(CompiledQuery.raw('PRAGMA table_info(users)'));
  const pairs = rows.map((c) => `'${c.name}', u."${c.name}"`);
  for (const column of SESSION_COLUMNS) {
    const [ref, alias] = column.split(' as ');
    pairs.push(`'${alias}', ${ref}`);
  }
  return `json_object(${pairs.join(', ')})`;
}

/**
 * The group statement for `n` rotations (?1 = now, ?2 = expiry, then token hash, successor hash and
 * successor id per row). INSERT OR REPLACE on `ord` keeps the temp table at one group's rows.
 */
function sqliteStatement(rowJson: string, n: number): string {
  const rows = Array.from({ length: n }, (_, i) => `(${i}, ?${3 * i + 3}, ?${3 * i + 4}, ?${3 * i + 5})`);
  return `INSERT OR REPLACE INTO janua_rotation (ord, token_hash, next_hash, next_id, session_id, now, expires_at)
SELECT v.column1, v.column2, v.column3, v.column4,
  (SELECT rt.session_id FROM refresh_tokens rt
     JOIN sessions s ON s.id = rt.session_id
     JOIN users u ON u.id = s.user_id
   WHERE rt.token_hash = v.column2 AND rt.used_at IS NULL AND rt.expires_at > ?1
     AND s.revoked_at IS NULL AND s.expires_at > ?1 AND u.status = 'active'),
  ?1, ?2
FROM (VALUES ${rows.join(', ')}) v
RETURNING ord,
  (SELECT ${rowJson} FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = janua_rotation.session_id) AS found`;
}

/** Per database (keyed by its Kysely adapter, one per store): the set-up, then a statement per group size. */
const sqliteState = new WeakMap<object, Promise<(n: number) => string>>();

function sqliteStatements(ex: Executor): Promise<(n: number) => string> {
  const key = ex.getExecutor().adapter;
  let state = sqliteState.get(key);
  if (!state) {
    state = (async () => {
      for (const ddl of SQLITE_SETUP) await ex.executeQuery(CompiledQuery.raw(ddl));
      const rowJson = await sqliteRowJson(ex);
      const byLength = new Map<number, string>();
      return (n: number) => {
        let text = byLength.get(n);
        if (!text) {
          text = sqliteStatement(rowJson, n);
          byLength.set(n, text);
        }
        return text;
      };
    })();
    // A failed set-up (the database closed, say) is tried again by the next group.
    state.catch(() => sqliteState.delete(key));
    sqliteState.set(key, state);
  }
  return state;
}

/** The answer of a rotation: the session as the statement left it, whenever the row was read. */
function done(row: FindWithUserRow, now: Date, expiresAt: Date): RotationDone {
  const { session, user } = decodeWithUser(row);
  return { session: { ...session, lastUsedAt: now, expiresAt }, user };
}

async function applySqlite(
  ex: Executor,
  batch: RotationWrite[],
  now: Date,
  expiresAt: Date,
): Promise<Array<RotationDone | undefined>> {
  const statement = await sqliteStatements(ex);
  // A token presented twice in one group is tried once; the other presentations answer undefined, and
  // the caller judges them (as replays, once the first has spent it).
  const first = new Map<string, number>();
  for (const [i, r] of batch.entries()) if (!first.has(r.tokenHash)) first.set(r.tokenHash, i);
  const rows = [...first.values()];
  const params: unknown[] = [now, expiresAt];
  for (const i of rows) params.push(batch[i]!.tokenHash, batch[i]!.nextHash, randomUUID());
  const { rows: out } = await ex.executeQuery<{ ord: number; found: string | null }>(
    CompiledQuery.raw(statement(rows.length), params),
  );
  const results: Array<RotationDone | undefined> = batch.map(() => undefined);
  for (const o of out)
    if (o.found !== null)
      results[rows[o.ord]!] = done(JSON.parse(o.found) as FindWithUserRow, now, expiresAt);
  return results;
}

async function applyPostgres(
  ex: Executor,
  r: RotationWrite,
  now: Date,
  expiresAt: Date,
): Promise<RotationDone | undefined> {
  // The final SELECT sees the rows as they were when the statement began (all CTEs share one snapshot):
  // `done` sets the session's new times.
  const { rows } = await sql<FindWithUserRow>`
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
    SELECT u.*, ${sql.raw(SESSION_COLUMNS.join(', '))}
    FROM spent JOIN sessions AS s ON s.id = spent.session_id JOIN users AS u ON u.id = s.user_id`.execute(ex);
  return rows[0] && done(rows[0], now, expiresAt);
}

export const rotations = {
  /**
   * Rotates each token of `batch` that may be rotated (see the module comment): per rotation, its session
   * (extended) and user, or undefined when it changed nothing. One statement on SQLite for the whole batch;
   * one per rotation, in order, on Postgres.
   */
  async apply(
    ex: Executor,
    dialect: Dialect,
    batch: RotationWrite[],
    now: Date,
    expiresAt: Date,
  ): Promise<Array<RotationDone | undefined>> {
    if (batch.length === 0) return [];
    if (dialect === 'sqlite') return applySqlite(ex, batch, now, expiresAt);
    // In order, so that of two presentations of one token the first is the one that spends it, as on SQLite.
    const out: Array<RotationDone | undefined> = [];
    for (const r of batch) out.push(await applyPostgres(ex, r, now, expiresAt));
    return out;
  },
};
