/** Schema migrations on every dialect: apply once, idempotent, locked against concurrent runs, checksummed. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isJanuaError } from '../../src/core/errors.js';
import { MIGRATIONS } from '../../src/core/store/migrations/index.js';
import { migrate, migrationStatus, pendingMigrations } from '../../src/core/store/migrator.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';

for (const dialect of dialects()) {
  describe(`migrations (${dialect})`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });

    async function fresh(): Promise<TestDatabase> {
      const db = await createTestDatabase(dialect);
      cleanups.push(() => db.drop());
      return db;
    }
    function open(db: TestDatabase): Store {
      const store = createStore(db.url);
      // Registered after the database drop, so it runs first (cleanups pop in reverse order).
      cleanups.push(() => store.destroy());
      return store;
    }

    it('a fresh database has every migration pending', async () => {
      const store = open(await fresh());
      const status = await migrationStatus(store);
      assert.equal(status.length, MIGRATIONS.length);
      assert.deepEqual(
        status.map((s) => [s.version, s.state, s.applied_at]),
        MIGRATIONS.map((m) => [m.version, 'pending', null]),
      );
      assert.match(status[0]!.checksum, /^[0-9a-f]{64}$/);
      assert.equal(await pendingMigrations(store), MIGRATIONS.length);
    });

    it('migrate applies every version once and is idempotent', async () => {
      const store = open(await fresh());
      const ran = await migrate(store);
      assert.deepEqual(
        ran.map((r) => [r.version, r.name, r.state]),
        MIGRATIONS.map((m) => [m.version, m.name, 'applied']),
      );
      assert.deepEqual(await migrate(store), [], 'a second run applies nothing');
      const status = await migrationStatus(store);
      assert.deepEqual(
        status.map((s) => [s.version, s.state]),
        MIGRATIONS.map((m) => [m.version, 'applied']),
      );
      assert.ok(status[0]!.applied_at && !Number.isNaN(Date.parse(status[0]!.applied_at)));
      assert.equal(status[0]!.checksum, ran[0]!.checksum);
      assert.equal(await pendingMigrations(store), 0);
      const rows = await store.db.selectFrom('janua_schema_migrations').selectAll().execute();
      assert.equal(rows.length, MIGRATIONS.length);
      // The schema really exists: a query on a migrated table works.
      assert.deepEqual(await store.db.selectFrom('users').select('id').execute(), []);
    });

    it('two concurrent migrate() calls on one fresh database both succeed and apply once', async () => {
      const db = await fresh();
      const a = open(db);
      const b = open(db);
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      assert.equal(
        ra.length + rb.length,
        MIGRATIONS.length,
        'each version applied by exactly one of the two',
      );
      const rows = await a.db.selectFrom('janua_schema_migrations').selectAll().execute();
      assert.deepEqual(
        rows.map((r) => r.version).sort((x, y) => x - y),
        MIGRATIONS.map((m) => m.version),
      );
      for (const s of [a, b]) {
        assert.deepEqual(
          (await migrationStatus(s)).map((x) => x.state),
          MIGRATIONS.map(() => 'applied'),
        );
      }
    });

    it('a tampered checksum makes migrate throw CONFLICT_ERROR and status report checksum_mismatch', async () => {
      const store = open(await fresh());
      await migrate(store);
      await store.db
        .updateTable('janua_schema_migrations')
        .set({ checksum: 'f'.repeat(64) })
        .where('version', '=', 1)
        .execute();
      assert.deepEqual((await migrationStatus(store)).map((s) => [s.version, s.state]).slice(0, 1), [
        [1, 'checksum_mismatch'],
      ]);
      await assert.rejects(migrate(store), (err: unknown) => {
        assert.ok(isJanuaError(err));
        assert.equal(err.code, 'CONFLICT_ERROR');
        assert.match(err.message, /migration 1 \(initial\) differs/);
        return true;
      });
    });

    it('a migration this version does not know is reported as unknown and refused', async () => {
      const store = open(await fresh());
      await migrate(store);
      await store.db
        .insertInto('janua_schema_migrations')
        .values({ version: 999, name: 'from_the_future', checksum: 'a'.repeat(64), applied_at: new Date() })
        .execute();
      const status = await migrationStatus(store);
      assert.deepEqual(
        status.map((s) => [s.version, s.state]),
        [...MIGRATIONS.map((m) => [m.version, 'applied']), [999, 'unknown']],
      );
      await assert.rejects(
        migrate(store),
        (err: unknown) => isJanuaError(err) && err.code === 'CONFLICT_ERROR',
      );
    });
  });
}
