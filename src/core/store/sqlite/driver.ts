/**
 * Kysely dialect over the `sqlite3` driver. Kysely's bundled SQLite dialect expects better-sqlite3's
 * synchronous API; this is the small asynchronous driver the architecture asks for, and with ./backup.ts (the
 * online backup API) the only file that touches `sqlite3` directly.
 *
 * One writing connection per process, guarded by a mutex: SQLite has one writer anyway, and a transaction
 * must own the connection until it ends. Transactions start with BEGIN IMMEDIATE so another process (a CLI
 * command next to the daemon) waits on the busy timeout instead of failing with SQLITE_BUSY half-way through.
 * A plain SELECT outside a transaction runs on one of a few read-only connections instead (WAL lets readers
 * run next to the writer, each statement on the last committed state, like READ COMMITTED on Postgres), so
 * the per-request session check never queues behind writes. Statements are prepared once per connection.
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
import type { PoolStats } from '../../metrics.js';

/** Values SQLite cannot bind as they are: the in-direction of the SQLite codec (see ../codec.ts). */
function bindable(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

const RETURNS_ROWS = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;
/** Statements a read-only connection may run outside a transaction. */
const READ_ONLY = /^\s*select\b/i;
/** Prepared statements kept per connection (Kysely emits the same SQL text for the same query shape). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Prepared copies of one SQL text a connection keeps. node-sqlite3 runs one statement object at a time and
 * starts its next queued call only from the previous call's completion on the main thread, so N concurrent
 * runs of one query (the session check of every authenticated request) took N thread-pool round trips one
 * after the other. With a few copies they go to the pool together; SQLite still runs them one at a time
 * on the connection, without a trip through the event loop between them.
 */
const COPIES_PER_STATEMENT = 4;

interface Prepared {
  stmt: Promise<sqlite3.Statement>;
  busy: number;
}

class SqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Prepared[]>();
  /** Queries sent and not yet answered: readers are picked by this. */
  inflight = 0;

  constructor(private readonly db: sqlite3.Database) {}

  private prepare(sql: string): Promise<sqlite3.Statement> {
    const stmt = new Promise<sqlite3.Statement>((resolve, reject) => {
      const s = this.db.prepare(sql, (err) => (err ? reject(err) : resolve(s)));
    });
    // A statement that fails to prepare (a syntax error, a missing table before migrations) is not kept.
    stmt.catch(() => {
      const copies = this.statements.get(sql);
      const i = copies?.findIndex((c) => c.stmt === stmt) ?? -1;
      if (copies && i >= 0) copies.splice(i, 1);
      if (copies?.length === 0) this.statements.delete(sql);
    });
    return stmt;
  }

  /** An idle prepared copy of `sql` (a new one while there are fewer than the cap), else the least busy. */
  private statement(sql: string): Prepared {
    let copies = this.statements.get(sql);
    if (copies) {
      // Map order is insertion order: re-insert to keep the most recently used last.
      this.statements.delete(sql);
      this.statements.set(sql, copies);
    } else {
      copies = [];
      this.statements.set(sql, copies);
      if (this.statements.size > STATEMENT_CACHE_SIZE) {
        const [oldest, evicted] = this.statements.entries().next().value!;
        this.statements.delete(oldest);
        for (const e of evicted) e.stmt.then((s) => s.finalize()).catch(() => {});
      }
    }
    let best: Prepared | undefined;
    for (const c of copies) {
      if (c.busy === 0) {
        best = c;
        break;
      }
      if (!best || c.busy < best.busy) best = c;
    }
    if (!best || (best.busy > 0 && copies.length < COPIES_PER_STATEMENT)) {
      best = { stmt: this.prepare(sql), busy: 0 };
      copies.push(best);
    }
    return best;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const params = query.parameters.map(bindable);
    this.inflight++;
    const prepared = this.statement(query.sql);
    prepared.busy++;
    try {
      const stmt = await prepared.stmt;
      if (RETURNS_ROWS.test(query.sql)) {
        return await new Promise((resolve, reject) => {
          stmt.all(params, (err, rows) => {
            if (err) reject(err);
            else resolve({ rows: rows as R[], numAffectedRows: BigInt(rows.length) });
          });
        });
      }
      return await new Promise((resolve, reject) => {
        stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(err);
          else resolve({ rows: [], numAffectedRows: BigInt(this.changes), insertId: BigInt(this.lastID) });
        });
      });
    } finally {
      prepared.busy--;
      this.inflight--;
    }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const result = await this.executeQuery<R>(query);
    for (const row of result.rows) yield { rows: [row] };
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    const stmts = [...this.statements.values()].flat().map((c) => c.stmt);
    this.statements.clear();
    await Promise.all(
      stmts.map((p) => p.then((s) => new Promise<void>((r) => s.finalize(() => r()))).catch(() => {})),
    );
    await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  /** Callers waiting for the lock, and whether someone holds it (metrics). */
  waiting = 0;
  held = false;
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    this.waiting++;
    const ready = this.tail.then(() => {
      this.waiting--;
      this.held = true;
      return () => {
        this.held = false;
        release();
      };
    });
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

export interface SqliteDialectOptions {
  /** File path, or `:memory:`. */
  filename: string;
  busyTimeoutMs?: number;
  /** Read-only connections for SELECTs outside transactions (default 2; none for `:memory:`). */
  readers?: number;
}

function open(filename: string, mode: number): Promise<sqlite3.Database> {
  return new Promise<sqlite3.Database>((resolve, reject) => {
    const db = new sqlite3.Database(filename, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}

/**
 * What Kysely holds between acquireConnection and releaseConnection. It takes the writer's lock only for a
 * transaction or a write; a lone SELECT goes to the least busy reader.
 */
class Handle implements DatabaseConnection {
  /** Set while this handle owns the writer (from BEGIN until COMMIT/ROLLBACK). */
  unlock: (() => void) | undefined;

  constructor(private readonly driver: SqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.unlock) return this.driver.writer.executeQuery<R>(query);
    const reader = READ_ONLY.test(query.sql) ? this.driver.reader() : undefined;
    if (reader) return reader.executeQuery<R>(query);
    const unlock = await this.driver.mutex.lock();
    try {
      return await this.driver.writer.executeQuery<R>(query);
    } finally {
      unlock();
    }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const result = await this.executeQuery<R>(query);
    for (const row of result.rows) yield { rows: [row] };
  }
}

class SqliteDriver implements Driver {
  writer!: SqliteConnection;
  private readers: SqliteConnection[] = [];
  readonly mutex = new Mutex();
  private destroyed = false;

  constructor(private readonly options: SqliteDialectOptions) {}

  async init(): Promise<void> {
    const { filename } = this.options;
    const db = await open(filename, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE);
    db.configure('busyTimeout', this.options.busyTimeoutMs ?? 5000);
    this.writer = new SqliteConnection(db);
    // WAL lets readers (ours and other processes') run while the daemon writes; foreign keys are off by default.
    // A 64 MiB page cache (grown only as used; the default is 2 MiB) keeps the user indexes of 100k+ users in
    // memory: it doubles bulk-import speed (bench/users.ts) and steadies list latency.
    // Checkpoints every 10,000 WAL pages (~40 MiB) instead of 1,000: a checkpoint copies each page once however
    // often it was written since the last one, and the hot pages (sessions, refresh tokens) are rewritten by
    // every refresh, so fewer checkpoints copy far fewer pages (refresh CPU per answer -7 to -14% in A/B runs).
    // TEMP tables (the refresh rotation's group table, store/repos/rotations.ts) live in memory, not in a file.
    await this.writer.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000; PRAGMA temp_store = MEMORY;',
    );
    const readers = filename === ':memory:' || filename === '' ? 0 : (this.options.readers ?? 2);
    for (let i = 0; i < readers; i++) {
      const r = await open(filename, sqlite3.OPEN_READONLY);
      r.configure('busyTimeout', this.options.busyTimeoutMs ?? 5000);
      this.readers.push(new SqliteConnection(r));
    }
  }

  /** The writer (busy while locked or running a statement) and the readers (busy with a query in flight). */
  poolStats(): PoolStats {
    const writerBusy = this.mutex.held || (this.writer?.inflight ?? 0) > 0 ? 1 : 0;
    const readersBusy = this.readers.filter((r) => r.inflight > 0).length;
    const total = this.writer ? 1 + this.readers.length : 0;
    return { total, idle: total - writerBusy - readersBusy, waiting: this.mutex.waiting };
  }

  /** The reader with the fewest queries in flight, if there are readers. */
  reader(): SqliteConnection | undefined {
    let best: SqliteConnection | undefined;
    for (const r of this.readers) if (!best || r.inflight < best.inflight) best = r;
    return best;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Handle(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as Handle;
    const unlock = await this.mutex.lock();
    try {
      await this.writer.exec('BEGIN IMMEDIATE');
    } catch (err) {
      unlock();
      throw err;
    }
    handle.unlock = unlock;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    // On failure Kysely rolls back, which releases the writer.
    await this.writer.exec('COMMIT');
    this.releaseWriter(connection as Handle);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.writer.exec('ROLLBACK');
    } finally {
      this.releaseWriter(connection as Handle);
    }
  }

  private releaseWriter(handle: Handle): void {
    const unlock = handle.unlock;
    handle.unlock = undefined;
    unlock?.();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // Only reached with the writer still held if a transaction ended without COMMIT or ROLLBACK.
    this.releaseWriter(connection as Handle);
  }

  async destroy(): Promise<void> {
    if (this.destroyed || !this.writer) return;
    this.destroyed = true;
    const all = [...this.readers, this.writer];
    this.readers = [];
    await Promise.all(all.map((c) => c.close()));
  }
}

export class Sqlite3Dialect implements Dialect {
  private driver: SqliteDriver | undefined;
  constructor(private readonly options: SqliteDialectOptions) {}
  createDriver(): Driver {
    this.driver = new SqliteDriver(this.options);
    return this.driver;
  }
  /** The driver's connection use (nothing open before the first query). */
  poolStats(): PoolStats {
    return this.driver?.poolStats() ?? { total: 0, idle: 0, waiting: 0 };
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
