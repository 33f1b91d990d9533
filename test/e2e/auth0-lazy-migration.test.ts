/**
 * Lazy migration and rehash at sign-in, end to end: the real `janua serve` (trusting the fake tenant's CA
 * through NODE_EXTRA_CA_CERTS) checks a migrated user's password once against the fake Auth0 tenant and keeps
 * it; wrong passwords and an unreachable tenant are plain 401s that store nothing; an imported cost-10 hash is
 * re-hashed at BCRYPT_ROUNDS on the first sign-in. Users are set up through the core repositories.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import bcrypt from 'bcrypt';
import { passwordCredentials } from '../../src/core/store/repos/credentials.js';
import { importRecords } from '../../src/core/store/repos/imports.js';
import { users } from '../../src/core/store/repos/users.js';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { FakeAuth0 } from '../helpers/fake-auth0.js';
import type { Daemon } from '../helpers/janua.js';
import { AUTH, assertError, type Call, e2eDaemon, eventually, uniqueEmail } from './support.js';

const AUTH0_PASSWORD = 'Their-Auth0-Pass-1!';

for (const dialect of dialects()) {
  describe(`e2e Auth0 lazy migration and rehash (${dialect})`, () => {
    let fake: FakeAuth0;
    let d: Daemon;
    let call: Call;
    let store: Store;
    const migrated = uniqueEmail('lazy');
    const wrong = uniqueEmail('lazy-wrong');
    const downUser = uniqueEmail('lazy-down');
    const env: Record<string, string> = {};

    // Registered before e2eDaemon's hook, so the daemon starts with the fake's address and CA.
    before(async () => {
      fake = await FakeAuth0.start({
        data: {
          users: [migrated, wrong, downUser].map((email, i) => ({
            user_id: `auth0|lazy${i}`,
            email,
            password: AUTH0_PASSWORD,
          })),
        },
      });
      Object.assign(env, {
        AUTH0_DOMAIN: fake.domain,
        AUTH0_CLIENT_ID: fake.clientId,
        AUTH0_CLIENT_SECRET: fake.clientSecret,
        AUTH0_LAZY_MIGRATION: 'true',
        NODE_EXTRA_CA_CERTS: fake.caFile,
        BCRYPT_ROUNDS: '4',
      });
    });
    e2eDaemon(dialect, env, (f) => {
      ({ d, call, store } = f);
    });

    /** A user as the Auth0 importer leaves one: an import record, and a hash only if given. */
    async function importUser(
      email: string,
      opts: { hash?: string; externalId?: string } = {},
    ): Promise<string> {
      const id = randomUUID();
      const now = new Date();
      await users.insert(store.db, { id, email, emailVerified: true, now });
      await importRecords.upsertMany(
        store.db,
        [
          {
            source: 'auth0',
            kind: 'user',
            externalId: opts.externalId ?? `auth0|${id}`,
            localId: id,
            sourceHash: 'h',
            needsPassword: !opts.hash,
          },
        ],
        now,
      );
      if (opts.hash) await passwordCredentials.insertMany(store.db, [{ userId: id, hash: opts.hash }], now);
      return id;
    }

    const signIn = (email: string, password: string) =>
      call('POST', `${AUTH}/signin`, { body: { email, password } });

    test('a migrated user without a password signs in with their Auth0 password, which is kept', async () => {
      const id = await importUser(migrated);
      const before = fake.passwordGrants.length;
      const res = await signIn(migrated, AUTH0_PASSWORD);
      assert.equal(res.status, 200, res.text);
      assert.equal(typeof res.body.access_token, 'string');
      assert.equal(typeof res.body.refresh_token, 'string');
      assert.equal(fake.passwordGrants.length, before + 1, 'asked Auth0 once');
      const hash = await passwordCredentials.getHash(store.db, id);
      assert.ok(hash, 'the password is stored');
      assert.match(hash, /^\$2b\$04\$/, 'hashed at BCRYPT_ROUNDS');
      assert.equal(await bcrypt.compare(AUTH0_PASSWORD, hash), true);
      const rec = await importRecords.findByLocal(store.db, 'user', id);
      assert.equal(rec?.needsPassword, false);
      const audited = await store.db
        .selectFrom('audit_events')
        .select(['action', 'outcome'])
        .where('target_id', '=', id)
        .where('action', '=', 'auth.lazy_migration')
        .execute();
      assert.deepEqual(audited, [{ action: 'auth.lazy_migration', outcome: 'success' }]);

      // The second sign-in is ours alone.
      const again = await signIn(migrated, AUTH0_PASSWORD);
      assert.equal(again.status, 200, again.text);
      assert.equal(fake.passwordGrants.length, before + 1, 'Auth0 not asked again');
    });

    test('a wrong password is the ordinary 401 and stores nothing; a user not from Auth0 is never checked there', async () => {
      const id = await importUser(wrong);
      const before = fake.passwordGrants.length;
      const res = await signIn(wrong, 'Not-Their-Pass-9!');
      assertError(res, 401, 'AUTHENTICATION_ERROR');
      const unknown = await signIn(uniqueEmail('nobody'), 'Not-Their-Pass-9!');
      assert.equal(res.text, unknown.text, 'the same answer as for an unknown email');
      assert.equal(fake.passwordGrants.length, before + 1);
      assert.equal(await passwordCredentials.getHash(store.db, id), undefined);
      assert.equal((await importRecords.findByLocal(store.db, 'user', id))?.needsPassword, true);

      // Not imported (no import record) and no password: Auth0 is not asked.
      const local = randomUUID();
      const email = uniqueEmail('local-nopw');
      await users.insert(store.db, { id: local, email, now: new Date() });
      const plain = await signIn(email, AUTH0_PASSWORD);
      assertError(plain, 401, 'AUTHENTICATION_ERROR');
      assert.equal(fake.passwordGrants.length, before + 1);
    });

    test('wrong Auth0 passwords count toward the lockout; a locked account does not reach Auth0', async () => {
      const email = uniqueEmail('lazy-lock');
      fake.opts.data.users.push({ user_id: 'auth0|lock', email, password: AUTH0_PASSWORD });
      const id = await importUser(email);
      const before = fake.passwordGrants.length;
      for (let i = 0; i < 5; i++)
        assertError(await signIn(email, `Wrong-Pass-${i}!`), 401, 'AUTHENTICATION_ERROR');
      const locked = await signIn(email, AUTH0_PASSWORD);
      assertError(locked, 401, 'AUTHENTICATION_ERROR');
      assert.ok(locked.headers['retry-after'], 'the lockout answer says when to retry');
      assert.equal(fake.passwordGrants.length, before + 5, 'the locked attempt was not sent to Auth0');
      assert.equal(await passwordCredentials.getHash(store.db, id), undefined);
    });

    test('an imported cost-10 hash is re-hashed at BCRYPT_ROUNDS on the first sign-in and still verifies', async () => {
      const email = uniqueEmail('rehash');
      const password = 'Imported-Pass-10!';
      const cost10 = await bcrypt.hash(password, 10);
      const id = await importUser(email, { hash: cost10 });
      const before = fake.passwordGrants.length;
      const res = await signIn(email, password);
      assert.equal(res.status, 200, res.text);
      const stored = await passwordCredentials.getHash(store.db, id);
      assert.notEqual(stored, cost10);
      assert.match(stored ?? '', /^\$2b\$04\$/);
      assert.equal(await bcrypt.compare(password, stored!), true);
      assert.equal((await signIn(email, password)).status, 200);
      assert.equal((await signIn(email, 'Wrong-Pass-10!')).status, 401);
      assert.equal(fake.passwordGrants.length, before, 'a user with a hash never goes to Auth0');
    });

    test('Auth0 unreachable: 401 (never a 500), nothing stored, a warning without secrets', async () => {
      const id = await importUser(downUser);
      await fake.stop();
      const res = await signIn(downUser, AUTH0_PASSWORD);
      assertError(res, 401, 'AUTHENTICATION_ERROR');
      assert.equal(await passwordCredentials.getHash(store.db, id), undefined);
      assert.equal((await importRecords.findByLocal(store.db, 'user', id))?.needsPassword, true);
      // The daemon's log arrives through a pipe: wait for the line rather than race it.
      const logs = await eventually('the warning', 5_000, async () => {
        const all = d.logs.join('\n');
        return /auth0 lazy migration: the tenant is unreachable/.test(all) ? all : undefined;
      });
      assert.ok(!logs.includes(fake.clientSecret), 'the client secret is not logged');
      assert.ok(!logs.includes(AUTH0_PASSWORD), 'the password is not logged');
    });
  });
}
