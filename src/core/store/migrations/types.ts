/**
 * Schema migrations: versioned, append-only, one transaction each, recorded with the checksum of the SQL they
 * ran. A migration is written once with the Kysely schema builder; the column types that differ by dialect come
 * from `ColumnTypes`, so one file serves SQLite and Postgres (kratos keeps `.sqlite`/`.postgres` overrides
 * for the same reason; here the override is a typed lookup instead of a second file).
 */
import { type Compilable, type Expression, type Kysely, sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export interface ColumnTypes {
  /** Instant in time: SQLite epoch milliseconds, Postgres timestamptz. */
  ts: Expression<unknown>;
  bool: Expression<unknown>;
  json: Expression<unknown>;
  uuid: Expression<unknown>;
  /** Auto-incrementing sequence number (outbox ordering). */
  serial: Expression<unknown>;
}

export function columnTypes(dialect: Dialect): ColumnTypes {
  return dialect === 'postgres'
    ? { ts: sql`timestamptz`, bool: sql`boolean`, json: sql`jsonb`, uuid: sql`uuid`, serial: sql`bigserial` }
    : { ts: sql`integer`, bool: sql`integer`, json: sql`text`, uuid: sql`text`, serial: sql`integer` };
}

export interface Migration {
  version: number;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: migrations describe schemas that the typed Database does not yet have.
  up(db: Kysely<any>, t: ColumnTypes, dialect: Dialect): Compilable[];
}
