/** Sign-in attempt counters on every dialect: counted atomically before the password check; restart rules. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signInAttempts } from '../../src/core/store/repos/attempts.js';
import { dialects } from '../helpers/db.js';
import { at, DAY, MIN, type TestStore, testStore } from '../helpers/store.js';

const WINDOW = 15 * MIN;
const key = () => `signin:${randomUUID()}`;

for (const dialect of dialects()) {
  describe(`sign_in_attempts repository (${dialect})`, () => {
    let t: TestStore;
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    it('begin counts 1, 2, 3 for one key and keeps keys apart', async () => {
      const k = key();
      const other = key();
      for (const expected of [1, 2, 3]) {
        const s = await signInAttempts.begin(t.store.db, k, at(expected * 1000), WINDOW);
        assert.deepEqual(s, { failedCount: expected, lockedUntil: null });
      }
      assert.equal((await signInAttempts.begin(t.store.db, other, at(4000), WINDOW)).failedCount, 1);
      assert.deepEqual(await signInAttempts.get(t.store.db, k), { failedCount: 3, lockedUntil: null });
      assert.equal(await signInAttempts.get(t.store.db, key()), undefined);
    });

    it('20 concurrent begin() calls get the counts 1..20, each exactly once', async () => {
      const k = key();
      const states = await Promise.all(
        Array.from({ length: 20 }, () => signInAttempts.begin(t.store.db, k, at(0), WINDOW)),
      );
      assert.deepEqual(
        states.map((s) => s.failedCount).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('while locked the count keeps rising and the lock is reported; after the lock ends it restarts at 1', async () => {
      const k = key();
      for (let i = 0; i < 5; i++) await signInAttempts.begin(t.store.db, k, at(i * 1000), WINDOW);
      const until = at(5000 + WINDOW);
      assert.equal(await signInAttempts.lock(t.store.db, k, until, at(5000)), true);
      assert.equal(await signInAttempts.lock(t.store.db, k, at(DAY), at(5001)), false, 'already locked');
      const locked = await signInAttempts.begin(t.store.db, k, at(6000), WINDOW);
      assert.equal(locked.failedCount, 6);
      assert.equal(locked.lockedUntil?.getTime(), until.getTime());
      // Just before the lock ends: still locked.
      const justBefore = await signInAttempts.begin(t.store.db, k, new Date(until.getTime() - 1), WINDOW);
      assert.equal(justBefore.lockedUntil?.getTime(), until.getTime());
      // At the end of the lock: a fresh count, no lock.
      assert.deepEqual(await signInAttempts.begin(t.store.db, k, until, WINDOW), {
        failedCount: 1,
        lockedUntil: null,
      });
    });

    it('restarts after a quiet window without a lock, but not within it', async () => {
      const k = key();
      await signInAttempts.begin(t.store.db, k, at(0), WINDOW);
      await signInAttempts.begin(t.store.db, k, at(MIN), WINDOW);
      // Within the window of the last attempt (at MIN): counts on.
      assert.equal((await signInAttempts.begin(t.store.db, k, at(MIN + WINDOW - 1), WINDOW)).failedCount, 3);
      // A full quiet window after the last attempt: restarts.
      const restarted = await signInAttempts.begin(t.store.db, k, at(2 * MIN + 2 * WINDOW), WINDOW);
      assert.deepEqual(restarted, { failedCount: 1, lockedUntil: null });
    });

    it('lock succeeds again once the previous lock has ended; reset deletes the counter', async () => {
      const k = key();
      await signInAttempts.begin(t.store.db, k, at(0), WINDOW);
      assert.equal(await signInAttempts.lock(t.store.db, k, at(MIN), at(0)), true);
      assert.equal(await signInAttempts.lock(t.store.db, k, at(3 * MIN), at(MIN)), true, 'expired lock');
      assert.equal((await signInAttempts.get(t.store.db, k))?.lockedUntil?.getTime(), at(3 * MIN).getTime());
      assert.equal(await signInAttempts.lock(t.store.db, key(), at(MIN), at(0)), false, 'no such key');
      assert.equal(await signInAttempts.reset(t.store.db, k), true);
      assert.equal(await signInAttempts.reset(t.store.db, k), false);
      assert.equal(await signInAttempts.get(t.store.db, k), undefined);
    });
  });
}
