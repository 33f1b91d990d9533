/**
 * Store.poolStats on every dialect: what the metrics report as database pool use. Postgres: the pool's own
 * counters (one connection here, so a second transaction waits for it); SQLite: the writer and the
 * read-only readers, and callers queued for the writer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects } from '../helpers/db.js';

/** Waits (without a deadline of its own: the test runner's timeout bounds it) until `check` holds. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 2000) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const dialect of dialects()) {
  describe(`store pool stats (${dialect})`, () => {
    it('idle at rest; a connection in use during a transaction; a second transaction waiting for it', async () => {
      const db = await createTestDatabase(dialect);
      const store: Store = createStore(db.url, { poolSize: 1 });
      try {
        await store.ping();
        const rest = store.poolStats();
        assert.ok(rest.total >= 1, JSON.stringify(rest));
        assert.equal(rest.idle, rest.total, 'all idle at rest');
        assert.equal(rest.waiting, 0);

        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        let inside!: () => void;
        const entered = new Promise<void>((r) => {
          inside = r;
        });
        const first = store.transaction(async (tx) => {
          await sql`select 1`.execute(tx);
          inside();
          await held;
        });
        await entered;
        const busy = store.poolStats();
        assert.ok(busy.total - busy.idle >= 1, `one in use: ${JSON.stringify(busy)}`);
        const second = store.transaction(async (tx) => {
          await sql`select 1`.execute(tx);
        });
        await until('the second transaction waits', () => store.poolStats().waiting === 1);
        release();
        await Promise.all([first, second]);
        await until('everything released', () => {
          const s = store.poolStats();
          return s.waiting === 0 && s.idle === s.total;
        });
      } finally {
        await store.destroy();
        await db.drop();
      }
    });
  });
}
