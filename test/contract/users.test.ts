/** Users and password-credential repositories on every dialect: the codec gives booleans, Dates and JSON back. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { passwordCredentials } from '../../src/core/store/repos/credentials.js';
import { users } from '../../src/core/store/repos/users.js';
import { dialects } from '../helpers/db.js';
import { at, MIN, type TestStore, testStore } from '../helpers/store.js';

let n = 0;
const email = () => `user${++n}-${randomUUID().slice(0, 8)}@example.com`;

for (const dialect of dialects()) {
  describe(`users repository (${dialect})`, () => {
    let t: TestStore;
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    it('insert returns the user with booleans, Dates and JSON decoded', async () => {
      const id = randomUUID();
      const e = email();
      const u = await t.store.transaction((tx) =>
        users.insert(tx, {
          id,
          email: e,
          emailVerified: true,
          firstName: 'Ada',
          lastName: 'Lovelace',
          username: `ada-${id.slice(0, 8)}`,
          isAdmin: true,
          userMetadata: { plan: 'pro', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } },
          now: at(0),
        }),
      );
      assert.equal(u.id, id);
      assert.equal(u.email, e);
      assert.equal(u.emailVerified, true);
      assert.equal(u.isAdmin, true);
      assert.equal(u.phoneVerified, false);
      assert.equal(u.mfaEnabled, false);
      assert.equal(u.status, 'active');
      assert.deepEqual(u.userMetadata, {
        plan: 'pro',
        tags: ['a', 'b'],
        nested: { n: 1, ok: true, none: null },
      });
      assert.ok(u.createdAt instanceof Date);
      assert.equal(u.createdAt.getTime(), at(0).getTime());
      assert.equal(u.updatedAt.getTime(), at(0).getTime());
      assert.equal(u.lastSignInAt, null);
    });

    it('findById and findByEmail return the same decoded user; misses are undefined', async () => {
      const id = randomUUID();
      const e = email();
      await users.insert(t.store.db, { id, email: e, now: at(1000) });
      const byId = await users.findById(t.store.db, id);
      const byEmail = await users.findByEmail(t.store.db, e);
      assert.ok(byId && byEmail);
      assert.deepEqual(byId, byEmail);
      assert.equal(typeof byId.emailVerified, 'boolean');
      assert.equal(byId.emailVerified, false);
      assert.equal(typeof byId.isAdmin, 'boolean');
      assert.equal(byId.isAdmin, false);
      assert.ok(byId.createdAt instanceof Date);
      assert.equal(byId.createdAt.toISOString(), at(1000).toISOString());
      assert.deepEqual(byId.userMetadata, {});
      assert.equal(await users.findById(t.store.db, randomUUID()), undefined);
      assert.equal(await users.findByEmail(t.store.db, 'nobody@example.com'), undefined);
    });

    it('update applies only the patched fields, round-trips user_metadata and moves updated_at', async () => {
      const id = randomUUID();
      await users.insert(t.store.db, { id, email: email(), firstName: 'Old', lastName: 'Name', now: at(0) });
      const meta = {
        theme: 'dark',
        count: 3,
        list: [1, 'two', { three: 3 }],
        unicode: 'Grüße 👋',
        flag: false,
      };
      const u = await users.update(
        t.store.db,
        id,
        { firstName: 'New', userMetadata: meta, isAdmin: true, emailVerified: true, status: 'suspended' },
        at(5 * MIN),
      );
      assert.ok(u);
      assert.equal(u.firstName, 'New');
      assert.equal(u.lastName, 'Name', 'unpatched field kept');
      assert.deepEqual(u.userMetadata, meta);
      assert.equal(u.isAdmin, true);
      assert.equal(u.emailVerified, true);
      assert.equal(u.status, 'suspended');
      assert.equal(u.createdAt.getTime(), at(0).getTime());
      assert.equal(u.updatedAt.getTime(), at(5 * MIN).getTime());
      assert.deepEqual(await users.findById(t.store.db, id), u, 'what update returns is what a read returns');

      const cleared = await users.update(t.store.db, id, { lastName: null, isAdmin: false }, at(6 * MIN));
      assert.equal(cleared?.lastName, null);
      assert.equal(cleared?.isAdmin, false);
      assert.equal(await users.update(t.store.db, randomUUID(), { firstName: 'x' }, at(0)), undefined);
    });

    it('touchSignIn sets last_sign_in_at as a Date', async () => {
      const id = randomUUID();
      await users.insert(t.store.db, { id, email: email(), now: at(0) });
      await users.touchSignIn(t.store.db, id, at(42_000));
      const u = await users.findById(t.store.db, id);
      assert.ok(u?.lastSignInAt instanceof Date);
      assert.equal(u.lastSignInAt.getTime(), at(42_000).getTime());
    });

    it('email is unique (insert and update)', async () => {
      const e = email();
      const first = randomUUID();
      await users.insert(t.store.db, { id: first, email: e, now: at(0) });
      await assert.rejects(
        users.insert(t.store.db, { id: randomUUID(), email: e, now: at(0) }),
        /unique|duplicate/i,
      );
      const other = randomUUID();
      await users.insert(t.store.db, { id: other, email: email(), now: at(0) });
      await assert.rejects(users.update(t.store.db, other, { email: e }, at(1)), /unique|duplicate/i);
      assert.equal((await users.findByEmail(t.store.db, e))?.id, first);
    });
  });

  describe(`password_credentials repository (${dialect})`, () => {
    let t: TestStore;
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    it('set inserts, then upserts the hash of the same user', async () => {
      const id = randomUUID();
      await users.insert(t.store.db, { id, email: email(), now: at(0) });
      assert.equal(await passwordCredentials.getHash(t.store.db, id), undefined);
      await passwordCredentials.set(t.store.db, id, '$2b$04$first', at(0));
      assert.equal(await passwordCredentials.getHash(t.store.db, id), '$2b$04$first');
      await passwordCredentials.set(t.store.db, id, '$2b$04$second', at(MIN));
      assert.equal(await passwordCredentials.getHash(t.store.db, id), '$2b$04$second');
      const rows = await t.store.db
        .selectFrom('password_credentials')
        .selectAll()
        .where('user_id', '=', id)
        .execute();
      assert.equal(rows.length, 1, 'one row per user');
    });

    it('hashes are not reachable through the users repository', async () => {
      const id = randomUUID();
      await users.insert(t.store.db, { id, email: email(), now: at(0) });
      await passwordCredentials.set(t.store.db, id, '$2b$04$secret-hash', at(0));
      const u = await users.findById(t.store.db, id);
      assert.ok(u);
      assert.ok(!JSON.stringify(u).includes('secret-hash'));
    });

    it('a credential needs an existing user and is removed with it', async () => {
      await assert.rejects(
        passwordCredentials.set(t.store.db, randomUUID(), '$2b$04$x', at(0)),
        /foreign|constraint/i,
      );
      const id = randomUUID();
      await users.insert(t.store.db, { id, email: email(), now: at(0) });
      await passwordCredentials.set(t.store.db, id, '$2b$04$x', at(0));
      await t.store.db.deleteFrom('users').where('id', '=', id).execute();
      assert.equal(await passwordCredentials.getHash(t.store.db, id), undefined);
    });
  });
}
