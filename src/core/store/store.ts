import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { PoolStats } from '../metrics.js';
import type { Dialect } from './migrations/types.js';
import { refusingNul } from './nul-guard.js';
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
    // Nor one checked out between two statements (inside a transaction), which has no listener of the
    // pool's: a server that ends its connections then (57P01 from `pg_ctl stop -m fast`) crashed the daemon
    // with an unhandled 'error' event. The failure surfaces in that client's next query instead, and the
    // pool drops the client when it is released.
    pool.on('connect', (client) => client.on('error', () => {}));
    poolStats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
    db = new Kysely<Database>({ dialect: refusingNul(new PostgresDialect({ pool })) });
  } else {
    dialect = 'sqlite';
    const filename = databaseUrl.slice('sqlite:'.length);
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    const sqlite = new Sqlite3Dialect({ filename });
    db = new Kysely<Database>({ dialect: refusingNul(sqlite) });
    poolStats = () => sqlite.poolStats();
  }
  return {
    db,
    dialect,
    async transaction(fn) {
      const hooks: Array<() => void> = [];
      const result = await db.transaction().execute((tx) => {
        commitHooks.set(tx, hooks);
        return fn(tx);
      });
      for (const hook of hooks) hook();
      return result;
    },
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    poolStats: () => poolStats(),
    destroy: () => db.destroy(),
  };
}

/** Callbacks to run once a store transaction has committed (see `afterCommit`). */
const commitHooks = new WeakMap<Executor, Array<() => void>>();

/**
 * Runs `fn` once what `ex` wrote is committed: after the transaction's COMMIT when `ex` is a transaction opened
 * by `Store.transaction`, at once otherwise (a statement outside a transaction commits by itself). Used to wake
 * job workers in this process without letting them look before the job is visible; never called after a
 * rollback. `fn` must not throw.
 */
export function afterCommit(ex: Executor, fn: () => void): void {
  const hooks = commitHooks.get(ex);
  if (hooks) hooks.push(fn);
  else fn();
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
