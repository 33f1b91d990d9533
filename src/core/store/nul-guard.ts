/**
 * The store never hands the database a NUL character. PostgreSQL refuses U+0000 in every text value (and the
 * `\u0000` escape in jsonb) with an error that would surface as a 500; SQLite stores it. The daemon refuses
 * NUL in requests before any database work (daemon/plugins/text-rules.ts), but the core has other callers —
 * CLI commands, imports, jobs — so the last line is here, at the boundary every statement crosses: a string
 * parameter holding NUL fails with VALIDATION_ERROR (CLI exit 2) before the statement is sent, on both
 * dialects alike. JSON values are checked where they are encoded (codec.ts `json`), since their text carries
 * NUL as the `\u0000` escape rather than as the character.
 *
 * It wraps the dialect's driver rather than being a Kysely plugin: plugins see only queries Kysely builds,
 * and the hot paths run precompiled statements (compiled.ts) that skip them; every statement, built or
 * precompiled, reaches the connection's executeQuery.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { hasNul, textRuleError } from '../text.js';

function nulError() {
  return textRuleError('A value', 'nul');
}

function refuseNul(parameters: readonly unknown[]): void {
  for (const p of parameters) {
    if (typeof p === 'string') {
      if (hasNul(p)) throw nulError();
    } else if (Array.isArray(p)) {
      for (const e of p) if (typeof e === 'string' && hasNul(e)) throw nulError();
    }
  }
}

/** A NUL in JSON text: the `\u0000` escape, not itself escaped (preceded by an even run of backslashes). */
const JSON_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/** Throws VALIDATION_ERROR when JSON text (JSON.stringify's output) encodes a NUL in a key or a value. */
export function refuseNulInJson(text: string): void {
  if (text.includes('\\u0000') && JSON_NUL.test(text)) throw nulError();
}

class GuardedConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    refuseNul(query.parameters);
    return this.inner.executeQuery<R>(query);
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    refuseNul(query.parameters);
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** The driver's own connection again, for the driver's methods (they may keep state per connection). */
const unwrap = (c: DatabaseConnection) => (c instanceof GuardedConnection ? c.inner : c);

class GuardedDriver implements Driver {
  savepoint?: Driver['savepoint'];
  rollbackToSavepoint?: Driver['rollbackToSavepoint'];
  releaseSavepoint?: Driver['releaseSavepoint'];

  constructor(private readonly inner: Driver) {
    // Kysely looks for these optional methods to decide whether savepoints are supported.
    const { savepoint, rollbackToSavepoint, releaseSavepoint } = inner;
    if (savepoint) this.savepoint = (c, name, compile) => savepoint.call(inner, unwrap(c), name, compile);
    if (rollbackToSavepoint)
      this.rollbackToSavepoint = (c, name, compile) =>
        rollbackToSavepoint.call(inner, unwrap(c), name, compile);
    if (releaseSavepoint)
      this.releaseSavepoint = (c, name, compile) => releaseSavepoint.call(inner, unwrap(c), name, compile);
  }

  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    return new GuardedConnection(await this.inner.acquireConnection());
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(unwrap(c), settings);
  }
  commitTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(unwrap(c));
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(unwrap(c));
  }
  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** `dialect` with every statement's parameters checked for NUL before it is sent. */
export function refusingNul(dialect: Dialect): Dialect {
  return {
    createDriver: (): Driver => new GuardedDriver(dialect.createDriver()),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's introspector is typed over any database.
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}
