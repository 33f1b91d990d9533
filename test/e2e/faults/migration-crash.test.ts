/**
 * Fault 3: `kill -9` of `janua db migrate` in the middle of a schema migration, for every migration there is
 * (the list grows; nothing here names one). The next start sees the schema of exactly the migrations recorded
 * as applied — compared with a database migrated that far and no further — and the next `janua db migrate`
 * completes (no stale lock), leaving the schema of a database migrated in one go.
 *
 * Catching the process inside the migration's transaction, for real:
 * - Postgres: the test holds `LOCK janua_schema_migrations IN SHARE MODE` from a second connection. The
 *   migrator's reads pass (ACCESS SHARE), every DDL statement of the migration runs, and it waits on the
 *   INSERT of its bookkeeping row (ROW EXCLUSIVE) — the last moment before COMMIT, with all the work done.
 *   The test sees that wait in pg_stat_activity, with the DDL's locks held, and kills.
 * - SQLite: one writer at a time. The test probes the write lock (BEGIN IMMEDIATE with no busy timeout); the
 *   first refusal means the migrator is inside a migration's transaction. It freezes the process (SIGSTOP),
 *   checks the lock is still held (so the transaction is still open), and kills. A migration that committed
 *   between probe and freeze (the lock then held by the next one) is a miss: the attempt is repeated on a
 *   fresh database.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { MIGRATIONS } from '../../../src/core/store/migrations/index.js';
import { migrate } from '../../../src/core/store/migrator.js';
import type { Store } from '../../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase } from '../../helpers/db.js';
import { BIN, baseEnv } from '../../helpers/janua.js';
import { eventually, openStore, sleep } from '../support.js';

/** The schema as the database describes it: tables, columns, indexes (Postgres), or sqlite_master (SQLite). */
async function schemaOf(store: Store): Promise<string[]> {
  if (store.dialect === 'sqlite') {
    const { rows } = await sql<{ type: string; name: string; sql: string | null }>`
      select type, name, sql from sqlite_master where name not like 'sqlite_%' order by type, name`.execute(
      store.db,
    );
    return rows.map((r) => `${r.type} ${r.name}: ${r.sql}`);
  }
  const columns = await sql<{ t: string; c: string; ty: string; n: string; d: string | null }>`
    select table_name as t, column_name as c, data_type as ty, is_nullable as n, column_default as d
    from information_schema.columns where table_schema = 'public' order by 1, 2`.execute(store.db);
  const indexes = await sql<{ name: string; def: string }>`
    select indexname as name, indexdef as def from pg_indexes where schemaname = 'public' order by 1`.execute(
    store.db,
  );
  const constraints = await sql<{ name: string; def: string }>`
    select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
    where connamespace = 'public'::regnamespace order by 1`.execute(store.db);
  return [
    ...columns.rows.map((r) => `column ${r.t}.${r.c} ${r.ty} ${r.n} ${r.d}`),
    ...indexes.rows.map((r) => `index ${r.name}: ${r.def}`),
    ...constraints.rows.map((r) => `constraint ${r.name}: ${r.def}`),
  ];
}

async function applied(store: Store): Promise<number[]> {
  const rows = await store.db
    .selectFrom('janua_schema_migrations')
    .select('version')
    .orderBy('version')
    .execute();
  return rows.map((r) => r.version);
}

/** `janua db migrate` against `url`, not waited for. */
function spawnMigrate(url: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'db', 'migrate'], {
    env: baseEnv({ DATABASE_URL: url }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** A CLI run that must finish: a migrator stuck on a stale lock fails the test instead of hanging it. */
async function runToEnd(
  args: string[],
  url: string,
  ms = 60_000,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: baseEnv({ DATABASE_URL: url }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  assert.notEqual(child.signalCode, 'SIGKILL', `janua ${args.join(' ')} did not finish in ${ms} ms:\n${out}`);
  return { code, out };
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

for (const dialect of dialects()) {
  describe(`fault: kill -9 during a schema migration (${dialect})`, () => {
    const cleanups: Array<() => Promise<unknown>> = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c().catch(() => {});
    });
    async function database(): Promise<{ db: TestDatabase; store: Store }> {
      const db = await createTestDatabase(dialect);
      const store = openStore(db.url);
      cleanups.push(
        () => db.drop(),
        () => store.destroy(),
      );
      return { db, store };
    }
    /** A database migrated exactly as far as `upTo` (the bookkeeping table even for none), and its schema. */
    const references = new Map<number, string[]>();
    async function reference(upTo: number): Promise<string[]> {
      if (!references.has(upTo)) {
        const { store } = await database();
        await migrate(store, MIGRATIONS.slice(0, upTo));
        references.set(upTo, await schemaOf(store));
      }
      return references.get(upTo)!;
    }

    /**
     * Kills `janua db migrate` inside the transaction of migration `done + 1` on a database migrated to
     * `done`; resolves false when the attempt missed the transaction (SQLite only).
     */
    async function killInside(url: string): Promise<boolean> {
      if (dialect === 'postgres') {
        const holder = new pg.Client({ connectionString: url });
        await holder.connect();
        cleanups.push(() => holder.end());
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE janua_schema_migrations IN SHARE MODE');
        // Another connection watches: inside the holder's transaction the statistics views would show one
        // snapshot for the whole transaction.
        const watcher = new pg.Client({ connectionString: url });
        await watcher.connect();
        cleanups.push(() => watcher.end());
        const child = spawnMigrate(url);
        cleanups.push(() => killHard(child));
        const waiting = await eventually('the migrator waits on its bookkeeping row', 30_000, async () => {
          const { rows } = await watcher.query<{ pid: number }>(
            `select pid from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'
               and query ilike 'insert into "janua_schema_migrations"%'`,
          );
          return rows[0];
        });
        // The migration's statements ran in that transaction: its DDL wrote the catalogs (so it has a
        // transaction id) and holds the locks it took (on relations other readers cannot even see yet).
        const { rows: done } = await watcher.query<{ xid: string | null; locks: number }>(
          `select a.backend_xid::text as xid,
             (select count(*)::int from pg_locks l
              where l.pid = a.pid and l.granted and l.locktype = 'relation'
                and l.mode in ('AccessExclusiveLock', 'ShareLock')
                and l.relation <> 'janua_schema_migrations'::regclass) as locks
           from pg_stat_activity a where a.pid = $1`,
          [waiting.pid],
        );
        assert.ok(done[0]?.xid, 'the migration wrote the catalogs before the kill');
        assert.ok(done[0]!.locks > 0, 'the migration holds its DDL locks at the kill');
        await killHard(child);
        await holder.query('ROLLBACK');
        // The orphaned backend notices its client is gone once it runs again; its transaction rolls back.
        await eventually('the killed migrator’s backend ends', 30_000, async () => {
          const { rowCount } = await watcher.query('select 1 from pg_stat_activity where pid = $1', [
            waiting.pid,
          ]);
          return rowCount === 0 ? true : undefined;
        });
        return true;
      }
      const file = url.slice('sqlite:'.length);
      const probe = new sqlite3.Database(file);
      probe.configure('busyTimeout', 0);
      cleanups.push(() => new Promise((resolve) => probe.close(resolve)));
      const exec = (q: string) =>
        new Promise<boolean>((resolve, reject) =>
          probe.exec(q, (err) => {
            if (!err) resolve(true);
            else if ((err as { code?: string }).code === 'SQLITE_BUSY') resolve(false);
            else reject(err);
          }),
        );
      /** Whether the write lock is free: taken and given back at once. */
      const writeLockFree = async () => {
        if (!(await exec('BEGIN IMMEDIATE'))) return false;
        await exec('ROLLBACK');
        return true;
      };
      const child = spawnMigrate(url);
      cleanups.push(() => killHard(child));
      while (child.exitCode === null && (await writeLockFree())) await sleep(0);
      if (child.exitCode !== null) return false; // it finished between two probes
      child.kill('SIGSTOP');
      const inside = !(await writeLockFree());
      await killHard(child);
      return inside;
    }

    for (const done of MIGRATIONS.keys()) {
      const m = MIGRATIONS[done]!;
      test(`killed inside migration ${m.version} (${m.name}): old schema, then migrate completes`, async () => {
        const caught = async (): Promise<{ db: TestDatabase; store: Store }> => {
          for (let attempt = 1; ; attempt++) {
            const fresh = await database();
            await migrate(fresh.store, MIGRATIONS.slice(0, done));
            // On SQLite the lock probe cannot tell migration done+1 from the next one: when done+1 committed
            // between probe and freeze, the kill landed in a later migration. A miss too: try again.
            if ((await killInside(fresh.db.url)) && (await applied(fresh.store)).length === done)
              return fresh;
            assert.ok(attempt < 20, 'caught the migrator inside its transaction within 20 attempts');
          }
        };
        const { db, store } = await caught();
        const url = db.url;
        // The next start sees the migrations recorded as applied, and exactly their schema.
        assert.deepEqual(
          await applied(store),
          MIGRATIONS.slice(0, done).map((x) => x.version),
        );
        assert.deepEqual(await schemaOf(store), await reference(done));
        if (dialect === 'sqlite') {
          const { rows } = await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(store.db);
          assert.deepEqual(
            rows.map((r) => r.integrity_check),
            ['ok'],
          );
        }
        // No stale lock: the next run applies the rest, and status agrees.
        const next = await runToEnd(['db', 'migrate'], url);
        assert.equal(next.code, 0, next.out);
        assert.deepEqual(
          await applied(store),
          MIGRATIONS.map((x) => x.version),
        );
        assert.deepEqual(await schemaOf(store), await reference(MIGRATIONS.length));
        const status = await runToEnd(['db', 'status', '--json'], url);
        assert.equal(status.code, 0, status.out);
      });
    }
  });
}
