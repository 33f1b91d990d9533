/**
 * Connection-level database failures, told apart from every other error in one place. While the database
 * cannot be reached (Postgres stopped, restarting, out of connection slots, the network gone; an SQLite file
 * that cannot be opened or stays locked past the busy timeout), a request that needs it fails with
 * `DatabaseUnavailable`: 503 SERVICE_UNAVAILABLE with `Retry-After`, never the driver's message (it can
 * name hosts, ports and users). The daemon's error mapper, the readiness probe, the outage log and the
 * CLI's exit code all ask `unreachableReason`.
 */
import { JanuaError } from '../errors.js';

/** `Retry-After` of a 503 answered while the database is unreachable: a restart or fail-over takes seconds. */
export const DATABASE_RETRY_AFTER_S = 5;

/** Node's socket error codes that mean the server could not be reached or the connection broke. */
const SOCKET_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection lost',
  EPIPE: 'connection lost',
  ETIMEDOUT: 'connect timeout',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'host unreachable',
};

/**
 * SQLSTATEs (PostgreSQL manual, appendix A) a server sends when it cannot serve this connection: class 08
 * "connection exception", 57P01/57P02 (sessions ended by a shutdown or a crash), 57P03 (not accepting
 * connections: starting up, shutting down, recovering), 53300 (no connection slot left).
 */
function sqlstateReason(code: string): string | undefined {
  if (code.startsWith('08')) return 'connection lost';
  if (code === '57P01' || code === '57P02') return 'server shutting down';
  // "the database system is starting up", "… is shutting down", "… is in recovery mode"
  if (code === '57P03') return 'server not accepting connections';
  if (code === '53300') return 'too many connections';
  return undefined;
}

/** node-sqlite3's codes: the file cannot be opened, or another process holds the lock past the busy timeout. */
const SQLITE_CODES: Record<string, string> = {
  SQLITE_CANTOPEN: 'cannot open database file',
  SQLITE_BUSY: 'database locked',
  SQLITE_LOCKED: 'database locked',
};

/**
 * Messages of node-postgres errors that carry no code: the pool's connect timeout, a connection closed under
 * a query, and a client used after its connection failed.
 */
const PG_MESSAGES: Array<[RegExp, string]> = [
  [/^timeout exceeded when trying to connect$/, 'connect timeout'],
  [/^Connection terminated due to connection timeout$/, 'connect timeout'],
  [/^Connection terminated/, 'connection lost'],
  [/is not queryable$/, 'connection lost'],
];

function reasonOf(e: { code?: unknown; message?: unknown; errors?: unknown }): string | undefined {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code) {
    const known =
      SOCKET_CODES[code] ?? SQLITE_CODES[code] ?? (/^[0-9A-Z]{5}$/.test(code) && sqlstateReason(code));
    if (known) return known;
  }
  if (typeof e.message === 'string')
    for (const [re, reason] of PG_MESSAGES) if (re.test(e.message)) return reason;
  // Node's happy-eyeballs connect (several addresses for one host) fails with an AggregateError of each try.
  if (Array.isArray(e.errors))
    for (const inner of e.errors) {
      const r = inner && typeof inner === 'object' ? reasonOf(inner) : undefined;
      if (r) return r;
    }
  return undefined;
}

/**
 * Why the database is unreachable, if `err` (or an error it wraps as `cause`) is a connection-level failure:
 * a short fixed phrase, safe to log and to show; undefined for every other error.
 */
export function unreachableReason(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const r = reasonOf(e as object);
    if (r) return r;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** 503 SERVICE_UNAVAILABLE for a request that needed the database while it could not be reached. */
export class DatabaseUnavailable extends JanuaError {
  constructor(
    readonly reason: string,
    cause: unknown,
  ) {
    super('SERVICE_UNAVAILABLE', 'The database is unavailable; retry later', {
      retryAfter: DATABASE_RETRY_AFTER_S,
      cause,
    });
  }
}

/** `err` as a DatabaseUnavailable when it is a connection-level failure; undefined otherwise. */
export function databaseUnavailable(err: unknown): DatabaseUnavailable | undefined {
  if (err instanceof DatabaseUnavailable) return err;
  const reason = unreachableReason(err);
  return reason === undefined ? undefined : new DatabaseUnavailable(reason, err);
}
