/**
 * `copyDatabase` in process, from a real SQLite file to a fresh database of each dialect (and back): every
 * table of the migrated schema — found by asking SQLite's catalog here, not the copy — gets rows of every
 * column kind and comes back unchanged; an interrupted copy resumes without duplicates; a target that holds
 * data is refused and left untouched; the outbox sequence continues past everything the source handed out.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isJanuaError } from '../../src/core/errors.js';
import {
  type CopyEnd,
  type CopyEvent,
  type CopyOptions,
  CopyStopped,
  copyDatabase,
} from '../../src/core/store/copy/copy.js';
import { planCopy, type TablePlan } from '../../src/core/store/copy/tables.js';
import type { Kind } from '../../src/core/store/copy/values.js';
import { type AnyDb, anyDb, MIGRATIONS_TABLE, PROGRESS_TABLE } from '../../src/core/store/introspect.js';
import { MIGRATIONS } from '../../src/core/store/migrations/index.js';
import { migrate } from '../../src/core/store/migrator.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';

/** A JSON document that text and jsonb store differently: key order, spacing, a number beyond 2^53. */
const TRICKY_JSON = '{"z": 1, "a": [12345678901234567890, "é😀", null, {"y": true, "b": 1.5}], "m": {}}';
const BIG = '12345678901234567890';

interface Fk {
  from: string;
  to: string;
  table: string;
}

/** The schema as SQLite's catalog states it (independent of the copy's own introspection). */
async function catalog(store: Store) {
  const db = anyDb(store.db);
  const tables = (
    await sql<{
      name: string;
    }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)
  ).rows
    .map((r) => r.name)
    .filter((n) => n !== MIGRATIONS_TABLE);
  const out = new Map<string, { notnull: Set<string>; pk: string[]; fks: Fk[] }>();
  for (const t of tables) {
    const cols = (
      await sql<{
        name: string;
        notnull: number;
        pk: number;
      }>`select name, "notnull", pk from pragma_table_info(${t})`.execute(db)
    ).rows;
    const fks = (await sql<Fk>`select "from", "to", "table" from pragma_foreign_key_list(${t})`.execute(db))
      .rows;
    out.set(t, {
      notnull: new Set(cols.filter((c) => c.notnull || c.pk).map((c) => c.name)),
      pk: cols
        .filter((c) => c.pk)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      fks,
    });
  }
  return out;
}

function value(kind: Kind, row: number): unknown {
  switch (kind) {
    case 'ts':
      return new Date(Date.UTC(2031, 4, 6, 7, 8, 9, 123) + row);
    case 'bool':
      return row === 0;
    case 'json':
      return TRICKY_JSON;
    case 'uuid':
      return randomUUID();
    case 'int':
      return 40 + row;
    case 'float':
      return 1.5 + row;
    case 'text':
      return `tëxt 😀 ${randomUUID()}`;
    case 'bytes':
      return Buffer.from([0, 1, 2, 255, row]);
  }
}

/**
 * Two rows in every table, parents first: the first with a value in every column, the second with NULL
 * wherever the schema allows it; foreign keys point at the parent's first row.
 */
async function fillEveryTable(source: Store, plan: TablePlan[]): Promise<void> {
  const cat = await catalog(source);
  const firstRows = new Map<string, Record<string, unknown>>();
  const db: AnyDb = anyDb(source.db);
  for (const t of plan) {
    const info = cat.get(t.name)!;
    for (let row = 0; row < 2; row++) {
      const values: Record<string, unknown> = {};
      for (const c of t.columns) {
        const fk = info.fks.find((f) => f.from === c.name);
        if (fk) values[c.name] = firstRows.get(fk.table)![fk.to];
        else if (row === 1 && !info.notnull.has(c.name)) values[c.name] = null;
        else values[c.name] = value(c.kind, row);
      }
      // A composite key made only of foreign keys (memberships) needs a second parent for its second row.
      if (row === 1 && info.pk.every((k) => info.fks.some((f) => f.from === k))) continue;
      await db.insertInto(t.name).values(values).execute();
      if (row === 0) firstRows.set(t.name, values);
    }
  }
}

/** Every row of a table, keyed columns first, as plain values (JSON compared by meaning). */
async function dump(store: Store, t: TablePlan): Promise<unknown[]> {
  let q = anyDb(store.db).selectFrom(t.name).selectAll();
  for (const k of t.primaryKey) q = q.orderBy(k);
  const rows = (await q.execute()) as Array<Record<string, unknown>>;
  return rows.map((r) =>
    Object.fromEntries(
      t.columns.map((c) => [
        c.name,
        c.kind === 'json' && typeof r[c.name] === 'string' ? JSON.parse(r[c.name] as string) : r[c.name],
      ]),
    ),
  );
}

async function count(store: Store, table: string): Promise<number> {
  const r = await anyDb(store.db)
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

interface End {
  db: TestDatabase;
  store: Store;
  name: string;
}

async function open(dialect: 'sqlite' | 'postgres'): Promise<End> {
  const db = await createTestDatabase(dialect);
  return { db, store: createStore(db.url, { poolSize: 3 }), name: db.url };
}

async function close(...ends: End[]): Promise<void> {
  for (const e of ends) {
    await e.store.destroy();
    await e.db.drop();
  }
}

const copy = (source: CopyEnd, target: CopyEnd, extra: Partial<CopyOptions> = {}) =>
  copyDatabase({ source, target, batchSize: 3, force: false, ...extra });

async function refused(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isJanuaError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

for (const dialect of dialects()) {
  describe(`db copy: SQLite → ${dialect} → SQLite`, () => {
    let source: End;
    let target: End;
    let back: End;
    let plan: TablePlan[];

    before(async () => {
      source = await open('sqlite');
      target = await open(dialect);
      back = await open('sqlite');
      await migrate(source.store);
      // The kinds come from the plan against the real target, so a Postgres target decides them.
      const probe = await open(dialect);
      try {
        await migrate(probe.store);
        plan = await planCopy(source.store, probe.store);
      } finally {
        await close(probe);
      }
      await fillEveryTable(source.store, plan);
    });
    after(() => close(source, target, back));

    test('every table of the migrated schema is copied, all of it, and comes back unchanged', async () => {
      const tables = [...(await catalog(source.store)).keys()].sort();
      assert.ok(tables.includes('users') && tables.includes('outbox'), tables.join());
      for (const t of tables) assert.ok((await count(source.store, t)) >= 1, `${t} has rows to copy`);

      const events: CopyEvent[] = [];
      const there = await copy(source, target, { onEvent: (e) => events.push(e) });
      assert.equal(there.verified, true, JSON.stringify(there.tables));
      assert.deepEqual(
        there.schema_versions,
        MIGRATIONS.map((m) => m.version),
      );
      assert.deepEqual(
        there.tables.map((t) => t.table).sort(),
        tables,
        'the copy names every table of the schema',
      );
      for (const t of there.tables) {
        assert.equal(t.target_rows, await count(source.store, t.table), t.table);
        assert.equal(await count(target.store, t.table), t.target_rows, t.table);
        assert.equal(t.source_checksum, t.target_checksum, t.table);
      }
      // Parents before children: each table is finished before any table that references it starts.
      const finished = events.filter((e) => e.type === 'table').map((e) => e.table);
      const cat = await catalog(source.store);
      for (const [t, info] of cat)
        for (const fk of info.fks)
          if (fk.table !== t)
            assert.ok(finished.indexOf(fk.table) < finished.indexOf(t), `${fk.table} before ${t}`);
      assert.equal(
        (await anyDb(target.store.db).introspection.getTables()).some((t) => t.name === PROGRESS_TABLE),
        false,
        'the progress record is dropped once verified',
      );

      const home = await copy(target, back);
      assert.equal(home.verified, true);
      for (const t of there.tables)
        assert.equal(
          home.tables.find((h) => h.table === t.table)?.target_checksum,
          t.source_checksum,
          `${t.table}: same checksum after the round trip`,
        );
      for (const t of plan) assert.deepEqual(await dump(back.store, t), await dump(source.store, t), t.name);
      // The number beyond 2^53 is still the same digits (a JSON.parse on the way would have rounded it).
      if (dialect !== 'postgres') return; // SQLite alone declares no JSON: the column held plain text
      const users = (await anyDb(back.store.db)
        .selectFrom('users')
        .select('user_metadata')
        .execute()) as Array<{
        user_metadata: string;
      }>;
      assert.ok(
        users.every((u) => u.user_metadata.includes(BIG)),
        users[0]?.user_metadata,
      );
    });

    test('a target that holds data is refused and left as it was; --force empties it and copies again', async () => {
      const counted = await Promise.all(plan.map((t) => count(target.store, t.name)));
      await refused(copy(source, target), 'CONFLICT_ERROR', /not empty .*--force/);
      assert.deepEqual(await Promise.all(plan.map((t) => count(target.store, t.name))), counted);

      await anyDb(source.store.db).deleteFrom('sign_in_attempts').execute();
      const again = await copy(source, target, { force: true });
      assert.equal(again.emptied, true);
      assert.equal(again.verified, true);
      assert.equal(await count(target.store, 'sign_in_attempts'), 0);
    });

    test('the outbox sequence continues past the highest number the source ever handed out', async () => {
      const fresh = await open(dialect);
      try {
        const top = await source.store.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.max('seq').as('m'))
          .executeTakeFirstOrThrow();
        // The newest event is gone from the source, but its number was handed out and must not come back.
        await source.store.db.deleteFrom('outbox').where('seq', '=', Number(top.m)).execute();
        assert.equal((await copy(source, fresh)).verified, true);
        const row = await fresh.store.db
          .insertInto('outbox')
          .values({
            id: randomUUID(),
            event_type: 'user.created',
            aggregate_type: 'user',
            aggregate_id: 'x',
            payload: '{}',
            created_at: new Date(),
          })
          .returning('seq')
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.seq), Number(top.m) + 1);
      } finally {
        await close(fresh);
      }
    });

    test('an interrupted copy resumes where it stopped, without duplicates and without --force', async () => {
      const fresh = await open(dialect);
      try {
        let batches = 0;
        const committed = new Map<string, number>();
        const stop = new Error('interrupted');
        await assert.rejects(
          copy(source, fresh, {
            batchSize: 1,
            onEvent: (e) => {
              if (e.type !== 'progress') return;
              committed.set(e.table, e.copied);
              if (++batches === 7) throw stop;
            },
          }),
          (err) => err === stop,
        );
        const copied = [...committed.values()].reduce((s, n) => s + n, 0);
        assert.ok(copied > 0);
        const progress = (await anyDb(fresh.store.db)
          .selectFrom(PROGRESS_TABLE)
          .selectAll()
          .execute()) as Array<{
          table_name: string;
          rows_copied: number;
          source: string;
        }>;
        assert.ok(progress.length > 0);
        assert.equal(
          progress.reduce((s, p) => s + Number(p.rows_copied), 0),
          copied,
          'what was committed is recorded',
        );
        for (const p of progress)
          assert.equal(await count(fresh.store, p.table_name), Number(p.rows_copied), p.table_name);

        // Another source may not continue it.
        const other = await open('sqlite');
        try {
          await migrate(other.store);
          await refused(copy(other, fresh), 'CONFLICT_ERROR', /interrupted copy of another database/);
        } finally {
          await close(other);
        }

        const events: CopyEvent[] = [];
        const done = await copy(source, fresh, { batchSize: 50, onEvent: (e) => events.push(e) });
        assert.equal(done.resumed, true);
        assert.equal(done.verified, true, JSON.stringify(done.tables));
        const start = events.find((e) => e.type === 'start');
        assert.ok(start?.type === 'start' && start.tables.reduce((s, t) => s + t.copied, 0) === copied);
      } finally {
        await close(fresh);
      }
    });

    test('a value that differs between the sides fails verification (same count, other checksum)', async () => {
      const fresh = await open(dialect);
      try {
        // Stopped once every table is copied, before verifying; then one value changes on the target.
        const stop = new AbortController();
        await assert.rejects(
          copy(source, fresh, {
            signal: stop.signal,
            onEvent: (e) => e.type === 'verifying' && stop.abort(),
          }),
          CopyStopped,
        );
        await fresh.store.db
          .updateTable('users')
          .set({ first_name: 'changed behind the copy' })
          .where('id', '=', fresh.store.db.selectFrom('users').select('id').limit(1))
          .execute();
        const report = await copy(source, fresh);
        assert.equal(report.resumed, true);
        const users = report.tables.find((t) => t.table === 'users')!;
        assert.equal(report.verified, false);
        assert.equal(users.verified, false);
        assert.equal(users.source_rows, users.target_rows);
        assert.notEqual(users.source_checksum, users.target_checksum);
        assert.ok(report.tables.filter((t) => t.table !== 'users').every((t) => t.verified));
        const kept = await anyDb(fresh.store.db).introspection.getTables();
        assert.ok(
          kept.some((t) => t.name === PROGRESS_TABLE),
          'the record stays for a re-run',
        );
        const again = await copy(source, fresh, { force: true });
        assert.equal(again.verified, true);
      } finally {
        await close(fresh);
      }
    });

    test('the source under another name (a symlink, localhost for 127.0.0.1) is refused, even with --force', async () => {
      const db = await createTestDatabase(dialect);
      let alias: string;
      if (dialect === 'postgres') {
        const url = new URL(db.url);
        url.hostname = url.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
        alias = url.toString();
      } else {
        const file = db.url.slice('sqlite:'.length);
        alias = `sqlite:${file}.link`;
        symlinkSync(file, `${file}.link`);
      }
      const one: End = { db, store: createStore(db.url, { poolSize: 2 }), name: db.url };
      const two = { store: createStore(alias, { poolSize: 2 }), name: alias };
      try {
        await migrate(one.store);
        await anyDb(one.store.db)
          .insertInto('settings')
          .values({ key: 'k', value: '{}', updated_at: new Date() })
          .execute();
        await refused(
          copy(one, two, { force: true }),
          'BAD_REQUEST',
          /the target is the source database itself/,
        );
        assert.equal(await count(one.store, 'settings'), 1, 'nothing emptied');
      } finally {
        await two.store.destroy();
        await close(one);
      }
    });

    test('a source with pending migrations, or a target migrated further, is refused before anything is written', async () => {
      const behind = await open('sqlite');
      const fresh = await open(dialect);
      try {
        await migrate(behind.store, MIGRATIONS.slice(0, 1));
        await refused(
          copy(behind, fresh),
          'SERVICE_UNAVAILABLE',
          /pending schema migration.*janua db migrate/,
        );
        const tables = await anyDb(fresh.store.db).introspection.getTables();
        assert.deepEqual(tables, [], 'nothing created on the target');

        await migrate(fresh.store);
        await fresh.store.db
          .insertInto('janua_schema_migrations')
          .values({ version: 999, name: 'from_the_future', checksum: 'x', applied_at: new Date() })
          .execute();
        await refused(copy(source, fresh, { force: true }), 'CONFLICT_ERROR', /migration 999/);
      } finally {
        await close(behind, fresh);
      }
    });
  });
}
