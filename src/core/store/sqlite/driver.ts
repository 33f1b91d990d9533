/**
 * Kysely dialect over the `sqlite3` driver. Kysely's bundled SQLite dialect expects better-sqlite3's
 * synchronous API; this is the small asynchronous driver the architecture asks for, and the only file that
 * touches `sqlite3` directly.
 *
 * One connection per process, guarded by a mutex: SQLite has one writer anyway, and a transaction must own
 * the connection until it ends. Transactions start with BEGIN IMMEDIATE so another process (a CLI command
 * next to the daemon) waits on the busy timeout instead of failing with SQLITE_BUSY half-way through.
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import sqlite3 from 'sqlite3';

/** Values SQLite cannot bind as they are: the in-direction of the SQLite codec (see ../codec.ts). */
function bindable(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

const RETURNS_ROWS = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;

class SqliteConnection implements DatabaseConnection {
  constructor(private readonly db: sqlite3.Database) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const params = query.parameters.map(bindable);
    if (RETURNS_ROWS.test(query.sql)) {
      return new Promise((resolve, reject) => {
        this.db.all(query.sql, params, (err, rows) => {
          if (err) reject(err);
          else resolve({ rows: rows as R[], numAffectedRows: BigInt(rows.length) });
        });
      });
    }
    return new Promise((resolve, reject) => {
      this.db.run(query.sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ rows: [], numAffectedRows: BigInt(this.changes), insertId: BigInt(this.lastID) });
      });
    });
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const result = await this.executeQuery<R>(query);
    for (const row of result.rows) yield { rows: [row] };
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

export interface SqliteDialectOptions {
  /** File path, or `:memory:`. */
  filename: string;
  busyTimeoutMs?: number;
}

class SqliteDriver implements Driver {
  private db: sqlite3.Database | undefined;
  private connection: SqliteConnection | undefined;
  private readonly mutex = new Mutex();
  private release: (() => void) | undefined;

  constructor(private readonly options: SqliteDialectOptions) {}

  async init(): Promise<void> {
    this.db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const db = new sqlite3.Database(this.options.filename, (err) => (err ? reject(err) : resolve(db)));
    });
    this.db.configure('busyTimeout', this.options.busyTimeoutMs ?? 5000);
    this.connection = new SqliteConnection(this.db);
    // WAL lets readers in other processes run while the daemon writes; foreign keys are off by default.
    // A 64 MiB page cache (grown only as used; the default is 2 MiB) keeps the user indexes of 100k+ users in
    // memory: it doubles bulk-import speed (bench/users.ts) and steadies list latency.
    await this.connection.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;',
    );
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.release = await this.mutex.lock();
    return this.connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as SqliteConnection).exec('BEGIN IMMEDIATE');
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as SqliteConnection).exec('COMMIT');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as SqliteConnection).exec('ROLLBACK');
  }

  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    if (db) await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
  }
}

export class Sqlite3Dialect implements Dialect {
  constructor(private readonly options: SqliteDialectOptions) {}
  createDriver(): Driver {
    return new SqliteDriver(this.options);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's introspector is typed over any database.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
