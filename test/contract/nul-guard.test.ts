/**
 * The store never hands the database a NUL (src/core/store/nul-guard.ts): on both dialects a statement with
 * a NUL in a string parameter — built by Kysely, precompiled, or raw — and a JSON value with a NUL in a key or
 * a string fail with VALIDATION_ERROR before they are sent, the transaction they were in rolls back, and the
 * store goes on working. (Postgres would refuse them with a database error; SQLite would store them.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { isJanuaError } from '../../src/core/errors.js';
import { sessions } from '../../src/core/store/repos/sessions.js';
import { type NewUser, users } from '../../src/core/store/repos/users.js';
import { dialects } from '../helpers/db.js';
import { at, type TestStore, testStore } from '../helpers/store.js';

const refusedNul = (err: unknown) => {
  assert.ok(isJanuaError(err), `a JanuaError, not ${String(err)}`);
  assert.equal(err.code, 'VALIDATION_ERROR');
  assert.match(err.message, /must not contain the NUL character/);
  return true;
};

const newUser = (overrides: Partial<NewUser> = {}): NewUser => ({
  id: randomUUID(),
  email: `nul-${randomUUID().slice(0, 8)}@example.com`,
  emailVerified: false,
  firstName: 'Ada',
  lastName: null,
  isAdmin: false,
  userMetadata: {},
  now: at(0),
  ...overrides,
});

for (const dialect of dialects()) {
  describe(`store NUL guard (${dialect})`, () => {
    let t: TestStore;
    const count = async () =>
      Number(
        (
          await t.store.db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    it('refuses a NUL in a text parameter of a built, a precompiled and a raw statement', async () => {
      await assert.rejects(users.findByEmail(t.store.db, 'a\u0000@example.com'), refusedNul);
      await assert.rejects(sessions.findManyWithUser(t.store.db, [`${randomUUID()}\u0000`]), refusedNul);
      await assert.rejects(sql`select ${'x\u0000y'} as v`.execute(t.store.db), refusedNul);
      if (dialect === 'postgres')
        await assert.rejects(sql`select ${['ok', 'b\u0000']}::text[] as v`.execute(t.store.db), refusedNul);
      // The same statements without the NUL run.
      assert.equal(await users.findByEmail(t.store.db, 'a@example.com'), undefined);
      assert.equal((await sessions.findManyWithUser(t.store.db, [randomUUID()])).size, 0);
    });

    it('refuses a NUL in a column and in a JSON key or string; the transaction rolls back, nothing is written', async () => {
      const before = await count();
      for (const bad of [
        newUser({ firstName: 'A\u0000' }),
        newUser({ userMetadata: { note: 'a\u0000' } }),
        newUser({ userMetadata: { 'k\u0000': 1 } }),
        newUser({ userMetadata: { deep: [{ x: ['ok', '\u0000'] }] } }),
      ]) {
        await assert.rejects(
          t.store.transaction(async (tx) => {
            await users.insert(tx, newUser()); // written first, then rolled back with the bad one
            await users.insert(tx, bad);
          }),
          refusedNul,
        );
      }
      assert.equal(await count(), before, 'nothing written');
      // The store (and on SQLite the writer lock) is free again, and other control characters are data here.
      const ok = await t.store.transaction((tx) =>
        users.insert(tx, newUser({ userMetadata: { note: 'tab\t esc\u001b \\u0000 as text' } })),
      );
      assert.deepEqual(ok.userMetadata, { note: 'tab\t esc\u001b \\u0000 as text' });
      assert.equal(await count(), before + 1);
    });
  });
}
