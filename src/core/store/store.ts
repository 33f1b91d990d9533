import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { PoolStats } from '../metrics.js';
import type { Dialect } from './migrations/types.js';
import type { Database } from './schema.js';
import { Sqlite3Dialect } from './sqlite/driver.js';

/** A query executor: the database itself or an open transaction. Repositories take one of these. */
export type Executor = Kysely<Database> | Transaction<Database>;

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Runs `fn` in one transaction (BEGIN IMMEDIATE on SQLite, READ COMMITTED on Postgres). */
  transaction<T>(fn: (tx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Cheap round trip for health checks. */
  ping(): Promise<void>;
  /** Connection use right now, from the pool's own counters (no query): for metrics. */
  poolStats(): PoolStats;
  destroy(): Promise<void>;
}

// COUNT(*) and bigserial arrive as int8; every count we keep fits a JS number.
pg.types.setTypeParser(20, (v: string) => Number(v));

export function createStore(databaseUrl: string, options: { poolSize?: number } = {}): Store {
  let dialect: Dialect;
  let db: Kysely<Database>;
  let poolStats: () => PoolStats;
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) {
    dialect = 'postgres';
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30000,
    });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    poolStats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
  } else {
    dialect = 'sqlite';
    const filename = databaseUrl.slice('sqlite:'.length);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    const sqlite = new Sqlite3Dialect({ filename });
    db = new Kysely<Database>({ dialect: sqlite });
    poolStats = () => sqlite.poolStats();
  }
  return {
    db,
    dialect,
    transaction: (fn) => db.transaction().execute(fn),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    poolStats: () => poolStats(),
    destroy: () => db.destroy(),
  };
}

/**
 * Serializes a critical section across nodes for the rest of the transaction: a Postgres advisory
 * transaction lock keyed by `name`. On SQLite the transaction already holds the database's write lock
 * (BEGIN IMMEDIATE), so nothing more is needed.
 */
export async function lockFor(
  store: Pick<Store, 'dialect'>,
  tx: Transaction<Database>,
  name: string,
): Promise<void> {
  if (store.dialect !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(tx);
}
