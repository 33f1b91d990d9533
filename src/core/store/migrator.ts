import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { JanuaError } from '../errors.js';
import { toDate } from './codec.js';
import { allTables, MIGRATIONS_TABLE } from './introspect.js';
import { MIGRATIONS } from './migrations/index.js';
import { columnTypes, type Migration } from './migrations/types.js';
import type { Store } from './store.js';

export interface MigrationStatus {
  version: number;
  name: string;
  state: 'applied' | 'pending' | 'checksum_mismatch' | 'unknown';
  applied_at: string | null;
  checksum: string;
}

/** Key of the Postgres advisory lock that serializes migrations across nodes (any constant works). */
const MIGRATION_LOCK = 0x4a616e75; // "Janu"

function compile(store: Store, m: Migration): string[] {
  return m.up(store.db, columnTypes(store.dialect), store.dialect).map((q) => q.compile().sql);
}

function checksum(statements: string[]): string {
  return createHash('sha256').update(statements.join(';\n')).digest('hex');
}

/**
 * Creates the bookkeeping table if missing. On Postgres, CREATE TABLE IF NOT EXISTS is not safe against a
 * concurrent twin (both pass the existence check, one fails on pg_type's unique index), so it runs under the
 * migration advisory lock; on SQLite the statement takes the write lock itself.
 */
async function ensureTable(store: Store): Promise<void> {
  const t = columnTypes(store.dialect);
  // Fast path (readiness probes call this often): no transaction, no lock once the table exists.
  const exists = await store.db
    .selectFrom('janua_schema_migrations')
    .select('version')
    .limit(1)
    .execute()
    .then(
      () => true,
      () => false,
    );
  if (exists) return;
  await store.transaction(async (tx) => {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
    await tx.schema
      .createTable('janua_schema_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('checksum', 'text', (c) => c.notNull())
      .addColumn('applied_at', t.ts, (c) => c.notNull())
      .execute();
  });
}

/** Applied migrations; none when the bookkeeping table does not exist yet (reading never creates it). */
async function applied(store: Store) {
  try {
    const rows = await store.db
      .selectFrom('janua_schema_migrations')
      .selectAll()
      .orderBy('version')
      .execute();
    return new Map(rows.map((r) => [r.version, r]));
  } catch (err) {
    if (/no such table|does not exist/i.test(String((err as Error).message))) return new Map();
    throw err;
  }
}

export async function migrationStatus(store: Store, migrations = MIGRATIONS): Promise<MigrationStatus[]> {
  const done = await applied(store);
  const out: MigrationStatus[] = migrations.map((m) => {
    const sum = checksum(compile(store, m));
    const row = done.get(m.version);
    return {
      version: m.version,
      name: m.name,
      state: !row ? 'pending' : row.checksum === sum ? 'applied' : 'checksum_mismatch',
      applied_at: row ? toDate(row.applied_at).toISOString() : null,
      checksum: sum,
    };
  });
  for (const row of done.values()) {
    if (!migrations.some((m) => m.version === row.version)) {
      out.push({
        version: row.version,
        name: row.name,
        state: 'unknown',
        applied_at: toDate(row.applied_at).toISOString(),
        checksum: row.checksum,
      });
    }
  }
  return out;
}

/**
 * Applies pending migrations, each in its own transaction under a lock (a Postgres advisory lock; SQLite's
 * write lock via BEGIN IMMEDIATE), re-reading what is applied once the lock is held so two nodes starting
 * together apply each migration once. Refuses to run when an applied migration's checksum changed.
 */
export async function migrate(store: Store, migrations = MIGRATIONS): Promise<MigrationStatus[]> {
  await ensureTable(store);
  const before = await migrationStatus(store, migrations);
  const bad = before.find((s) => s.state === 'checksum_mismatch' || s.state === 'unknown');
  if (bad) {
    throw new JanuaError(
      'CONFLICT_ERROR',
      bad.state === 'unknown'
        ? `database has migration ${bad.version} (${bad.name}) that this janua does not know: it was migrated by a newer version`
        : `migration ${bad.version} (${bad.name}) differs from the one applied to this database; restore the released migration`,
    );
  }
  const ran: MigrationStatus[] = [];
  for (const m of migrations) {
    const statements = compile(store, m);
    const sum = checksum(statements);
    const did = await store.transaction(async (tx) => {
      if (store.dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
      const row = await tx
        .selectFrom('janua_schema_migrations')
        .select('version')
        .where('version', '=', m.version)
        .executeTakeFirst();
      if (row) return false;
      for (const statement of statements) await sql.raw(statement).execute(tx);
      await tx
        .insertInto('janua_schema_migrations')
        .values({ version: m.version, name: m.name, checksum: sum, applied_at: new Date() })
        .execute();
      return true;
    });
    if (did)
      ran.push({
        version: m.version,
        name: m.name,
        state: 'applied',
        applied_at: new Date().toISOString(),
        checksum: sum,
      });
  }
  return ran;
}

/** How many known migrations are not applied: a read-only check, cheap enough for every readiness probe. */
export async function pendingMigrations(store: Store, migrations = MIGRATIONS): Promise<number> {
  const done = await applied(store);
  return migrations.filter((m) => !done.has(m.version)).length;
}

/**
 * Migrates a brand-new database — no migration applied and no table at all — the way `janua serve` does at
 * start, so an operator command works right after install. Returns what it applied, or undefined when the
 * database is not brand-new: one that is behind, or holds someone else's tables, is left to `janua db migrate`.
 */
export async function initializeIfNew(
  store: Store,
  migrations = MIGRATIONS,
): Promise<MigrationStatus[] | undefined> {
  if ((await applied(store)).size) return undefined;
  if ((await allTables(store)).some((t) => t.name !== MIGRATIONS_TABLE)) return undefined;
  return migrate(store, migrations);
}
