/**
 * A database's schema read from the database itself, never from a hand-kept list: its tables, their columns
 * with the declared types, primary keys, foreign keys and the auto-incremented column, if any (`janua db copy`
 * plans from it; operator commands use it to tell a brand-new database from someone else's). SQLite is read through `sqlite_master` and the `pragma_*` table functions, Postgres through
 * `information_schema` (which lists only what the connected role may use, which is what it can copy).
 */
import { realpathSync, statSync } from 'node:fs';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { JanuaError } from '../errors.js';
import type { Executor, Store } from './store.js';

export interface ColumnInfo {
  name: string;
  /** The type as the schema declares it, lower case: `integer`, `text`, `timestamp with time zone`, … */
  declared: string;
}

export interface TableInfo {
  name: string;
  /** In declaration order. */
  columns: ColumnInfo[];
  /** Primary-key columns in key order (empty when the table has none). */
  primaryKey: string[];
  /** Tables this one references through a foreign key (itself excluded). */
  references: string[];
  /** The column a sequence fills (Postgres serial/identity, SQLite AUTOINCREMENT), if any. */
  sequence: string | undefined;
}

/** Bookkeeping tables that are not data: the migrator's record and the copy's own progress record. */
export const MIGRATIONS_TABLE = 'janua_schema_migrations';
export const PROGRESS_TABLE = 'janua_copy_progress';
const NOT_DATA = new Set([MIGRATIONS_TABLE, PROGRESS_TABLE]);

// biome-ignore lint/suspicious/noExplicitAny: the copy names tables and columns it reads from the catalog.
export type AnyDb = Kysely<any>;

/** The same database or transaction, for queries over tables the typed schema does not name. */
export function anyDb(db: Executor): AnyDb {
  return db as unknown as AnyDb;
}

async function rows<R>(db: AnyDb, query: RawBuilder<R>): Promise<R[]> {
  return (await query.execute(db)).rows;
}

async function sqliteTables(db: AnyDb): Promise<TableInfo[]> {
  const tables = await rows<{ name: string; sql: string | null }>(
    db,
    sql`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`,
  );
  const out: TableInfo[] = [];
  for (const t of tables) {
    const cols = await rows<{ name: string; type: string; pk: number }>(
      db,
      sql`select name, type, pk from pragma_table_info(${t.name}) order by cid`,
    );
    const fks = await rows<{ table: string }>(
      db,
      sql`select "table" from pragma_foreign_key_list(${t.name})`,
    );
    const primaryKey = cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    // Only an INTEGER PRIMARY KEY can be AUTOINCREMENT, and the keyword appears nowhere else in a CREATE TABLE.
    const autoincrement = /\bautoincrement\b/i.test(t.sql ?? '') && primaryKey.length === 1;
    out.push({
      name: t.name,
      columns: cols.map((c) => ({ name: c.name, declared: c.type.toLowerCase() })),
      primaryKey,
      references: [...new Set(fks.map((f) => f.table))].filter((r) => r !== t.name),
      sequence: autoincrement ? primaryKey[0] : undefined,
    });
  }
  return out;
}

async function postgresTables(db: AnyDb): Promise<TableInfo[]> {
  const tables = await rows<{ name: string }>(
    db,
    sql`select table_name as name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  );
  const cols = await rows<{ table: string; name: string; type: string; serial: boolean }>(
    db,
    sql`select table_name as "table", column_name as name, data_type as type,
          (coalesce(column_default, '') like 'nextval(%' or is_identity = 'YES') as serial
        from information_schema.columns where table_schema = current_schema()
        order by table_name, ordinal_position`,
  );
  const keys = await rows<{ table: string; column: string; kind: string; ref: string | null }>(
    db,
    sql`select tc.table_name as "table", kcu.column_name as "column", tc.constraint_type as kind,
          (select ccu.table_name from information_schema.constraint_column_usage ccu
            where ccu.constraint_schema = tc.constraint_schema and ccu.constraint_name = tc.constraint_name
            limit 1) as ref
        from information_schema.table_constraints tc
        join information_schema.key_column_usage kcu
          on kcu.constraint_schema = tc.constraint_schema and kcu.constraint_name = tc.constraint_name
         and kcu.table_name = tc.table_name
        where tc.table_schema = current_schema() and tc.constraint_type in ('PRIMARY KEY', 'FOREIGN KEY')
        order by tc.table_name, tc.constraint_name, kcu.ordinal_position`,
  );
  return tables.map(({ name }) => {
    const mine = cols.filter((c) => c.table === name);
    const own = keys.filter((k) => k.table === name);
    return {
      name,
      columns: mine.map((c) => ({ name: c.name, declared: c.type.toLowerCase() })),
      primaryKey: own.filter((k) => k.kind === 'PRIMARY KEY').map((k) => k.column),
      references: [
        ...new Set(own.filter((k) => k.kind === 'FOREIGN KEY' && k.ref && k.ref !== name).map((k) => k.ref!)),
      ],
      sequence: mine.find((c) => c.serial)?.name,
    };
  });
}

/** Every table of the database, bookkeeping tables included, by name. */
export async function allTables(store: Pick<Store, 'db' | 'dialect'>): Promise<TableInfo[]> {
  const db = anyDb(store.db);
  return store.dialect === 'postgres' ? postgresTables(db) : sqliteTables(db);
}

/** The data tables: every table but the migrator's and the copy's bookkeeping. */
export async function dataTables(store: Pick<Store, 'db' | 'dialect'>): Promise<TableInfo[]> {
  return (await allTables(store)).filter((t) => !NOT_DATA.has(t.name));
}

/**
 * Parents before children (Kahn's algorithm, ties by name so the order is stable), so every row's foreign
 * keys point at rows already copied. A cycle between tables has no such order and is refused.
 */
export function dependencyOrder(tables: TableInfo[]): TableInfo[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const waiting = new Map(
    tables.map((t) => [t.name, new Set(t.references.filter((r) => byName.has(r) && r !== t.name))]),
  );
  const out: TableInfo[] = [];
  while (waiting.size) {
    const ready = [...waiting].filter(([, deps]) => deps.size === 0).map(([name]) => name);
    if (!ready.length)
      throw new JanuaError(
        'CONFLICT_ERROR',
        `the tables ${[...waiting.keys()].join(', ')} reference each other in a cycle: no copy order exists`,
      );
    for (const name of ready.sort()) {
      out.push(byName.get(name)!);
      waiting.delete(name);
      for (const deps of waiting.values()) deps.delete(name);
    }
  }
  return out;
}

/**
 * What makes a database itself, whatever URL reached it: on Postgres the server instance (its start time)
 * and the database's oid, so `localhost` and `127.0.0.1` name the same one; on SQLite the file's device and
 * inode, so a symlink or a second path to the same file does too.
 */
export async function databaseIdentity(store: Pick<Store, 'db' | 'dialect'>): Promise<string> {
  const db = anyDb(store.db);
  if (store.dialect === 'postgres') {
    const { rows } = await sql<{
      id: string;
    }>`select pg_postmaster_start_time()::text || '/' || d.oid::text as id
        from pg_database d where d.datname = current_database()`.execute(db);
    return `postgres:${rows[0]!.id}`;
  }
  const { rows } = await sql<{
    file: string;
  }>`select file from pragma_database_list where name = 'main'`.execute(db);
  const file = rows[0]?.file ?? '';
  if (!file) return `sqlite:memory:${Math.random()}`; // every in-memory database is its own
  const st = statSync(realpathSync(file));
  return `sqlite:${st.dev}:${st.ino}`;
}
