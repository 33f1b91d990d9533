/** A migrated store over a fresh real database (SQLite file or Postgres database), for repository contract tests. */
import { migrate } from '../../src/core/store/migrator.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestStore {
  store: Store;
  db: TestDatabase;
  close(): Promise<void>;
}

export async function testStore(
  dialect: 'sqlite' | 'postgres',
  opts: { migrate?: boolean } = {},
): Promise<TestStore> {
  const db = await createTestDatabase(dialect);
  const store = createStore(db.url);
  if (opts.migrate !== false) await migrate(store);
  return {
    store,
    db,
    async close() {
      await store.destroy();
      await db.drop();
    },
  };
}

/** Explicit instants for tests: `at(0)` is a fixed epoch, `at(90_000)` is 90 s later. */
const BASE = Date.UTC(2030, 0, 15, 12, 0, 0);
export function at(offsetMs = 0): Date {
  return new Date(BASE + offsetMs);
}

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
