/**
 * `janua migrate auth0` against a live tenant — the fake Auth0 tenant over HTTPS, trusted by the spawned
 * binary through NODE_EXTRA_CA_CERTS, talked to by the real `auth0` client — on each dialect: users through an
 * export job, their hashes from a file, roles, organizations and members; a rate limit, a 503 and token renewal
 * along the way; nothing written to the tenant; a re-run changes nothing; then a user who came without a hash
 * signs in through lazy migration on a spawned daemon.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcrypt';
import { auth0User, hashLine, writeNdjson } from '../helpers/auth0-export.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { FakeAuth0 } from '../helpers/fake-auth0.js';
import { newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import { AUTH, client, openStore } from './support.js';

const N = 30;
const PASSWORD = 'Their-Auth0-Pass-1!';
const perm = (name: string) => ({
  permission_name: name,
  resource_server_identifier: 'https://api.example.test',
});

for (const dialect of dialects()) {
  describe(`janua migrate auth0 from a live tenant (${dialect})`, () => {
    let db: TestDatabase;
    let fake: FakeAuth0;
    const dir = tempDir('janua-migrate-live-');
    let env: Record<string, string>;
    const hashes = join(dir.path, 'hashes.ndjson');
    const id = (i: number) => auth0User(i).user_id;

    before(async () => {
      db = await createTestDatabase(dialect);
      fake = await FakeAuth0.start({
        tokenTtlSeconds: 2,
        exportPolls: 2,
        data: {
          users: Array.from({ length: N }, (_, k) => ({ ...auth0User(k + 1), password: PASSWORD })),
          roles: [
            { id: 'rol_admin', name: 'Admin', permissions: [] },
            {
              id: 'rol_billing',
              name: 'Billing Manager',
              permissions: [perm('read:invoices'), perm('write:invoices')],
              users: [id(1), id(2)],
            },
            { id: 'rol_reader', name: 'Reader', permissions: [perm('read:reports')] },
          ],
          organizations: [
            {
              id: 'org_acme',
              name: 'acme',
              display_name: 'Acme Inc',
              members: [
                { user_id: id(1), roles: ['rol_admin'] },
                { user_id: id(2), roles: ['rol_billing'] },
                { user_id: id(3), roles: ['rol_billing', 'rol_reader'] },
                { user_id: id(4) },
              ],
            },
            {
              id: 'org_globex',
              name: 'globex',
              members: [{ user_id: id(5), roles: ['rol_reader'] }, { user_id: 'auth0|ghost' }],
            },
          ],
        },
      });
      const hash = await bcrypt.hash(PASSWORD, 10);
      await writeNdjson(
        hashes,
        Array.from({ length: 10 }, (_, k) => hashLine(k + 1, hash)),
      );
      env = {
        DATABASE_URL: db.url,
        JANUA_MASTER_KEY: newMasterKey(),
        JANUA_DATA_DIR: dir.path,
        NODE_EXTRA_CA_CERTS: fake.caFile,
        AUTH0_DOMAIN: fake.domain,
        AUTH0_CLIENT_ID: fake.clientId,
        AUTH0_CLIENT_SECRET: fake.clientSecret,
      };
    });
    after(async () => {
      await fake.stop();
      await db.drop();
      dir.remove();
    });

    test('the whole tenant: users, passwords, roles, organizations and members; faults survived; nothing written to Auth0', async () => {
      fake.rateLimitNext(1, 1, /organizations/);
      fake.failNext(1, 503, /roles/);
      const r = await runCli(['migrate', 'auth0', '--password-hashes', hashes, '--json'], { env });
      // The ghost member of globex is not a migrated user: one failed record, exit 3.
      assert.equal(r.code, 3, r.stderr);
      assert.doesNotMatch(r.stderr + r.stdout, new RegExp(fake.clientSecret), 'the secret is never printed');
      const s = JSON.parse(r.stdout);
      assert.equal(s.counts.users.created, N);
      assert.equal(s.counts.passwords.set, 10);
      assert.equal(s.counts.organizations.created, 2);
      assert.equal(s.counts.members.created, 5);
      assert.equal(s.counts.members.failed, 1);
      assert.match(s.failures_sample[0].reason, /not migrated/);
      assert.match(r.stderr, /rate limited by Auth0; retrying/);
      assert.match(r.stderr, /Auth0 answered 503; retrying/);
      assert.ok(fake.tokensIssued >= 2, `a short-lived token was renewed (${fake.tokensIssued} issued)`);
      const writes = fake.requests.filter(
        (q) => q.method !== 'GET' && q.path !== '/oauth/token' && q.path !== '/api/v2/jobs/users-exports',
      );
      assert.deepEqual(writes, [], 'nothing but the token and the export job is ever posted');

      const store = openStore(db.url);
      try {
        const orgs = await store.db
          .selectFrom('organizations')
          .select(['id', 'slug', 'name'])
          .orderBy('slug')
          .execute();
        assert.deepEqual(
          orgs.map((o) => [o.slug, o.name]),
          [
            ['acme', 'Acme Inc'],
            ['globex', 'globex'],
          ],
        );
        const acme = orgs[0]!.id;
        const roleOf = async (i: number) =>
          (
            await store.db
              .selectFrom('organization_members as m')
              .innerJoin('users as u', 'u.id', 'm.user_id')
              .select('m.role')
              .where('m.organization_id', '=', acme)
              .where('u.email', '=', `user.${i}@example.test`)
              .executeTakeFirstOrThrow()
          ).role;
        assert.equal(await roleOf(1), 'admin');
        assert.equal(await roleOf(2), 'billing-manager');
        assert.equal(await roleOf(4), 'member');
        const custom = await store.db
          .selectFrom('organization_roles')
          .select(['name', 'permissions'])
          .where('organization_id', '=', acme)
          .orderBy('name')
          .execute();
        const billing = custom.find((x) => x.name === 'billing-manager')!;
        const perms =
          typeof billing.permissions === 'string' ? JSON.parse(billing.permissions) : billing.permissions;
        assert.deepEqual(perms, ['read:invoices', 'write:invoices']);
        const both = await roleOf(3);
        assert.ok(
          custom.some((x) => x.name === both),
          'the two-role member holds a role of the organization',
        );
        const meta = await store.db
          .selectFrom('users')
          .select('app_metadata')
          .where('email', '=', 'user.1@example.test')
          .executeTakeFirstOrThrow();
        const appMeta =
          typeof meta.app_metadata === 'string' ? JSON.parse(meta.app_metadata) : meta.app_metadata;
        assert.deepEqual(appMeta.auth0_roles, ['Billing Manager']);
      } finally {
        await store.destroy();
      }
    });

    test('credentials the tenant refuses: exit 7, the secret not printed', async () => {
      const r = await runCli(['migrate', 'auth0', '--only', 'roles'], {
        env: { ...env, AUTH0_CLIENT_SECRET: 'wrong-secret-value' },
      });
      assert.equal(r.code, 7, r.stderr);
      assert.doesNotMatch(r.stderr + r.stdout, /wrong-secret-value/);
    });

    test('a re-run changes nothing', async () => {
      const r = await runCli(['migrate', 'auth0', '--password-hashes', hashes, '--json'], { env });
      assert.equal(r.code, 3, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.equal(s.counts.users.unchanged, N);
      assert.equal(s.counts.users.created ?? 0, 0);
      assert.equal(s.counts.organizations.unchanged, 2);
      assert.equal(s.counts.members.unchanged, 5);
      assert.equal(s.counts.passwords.set ?? 0, 0);
    });

    test('a user who came without a hash signs in with the Auth0 password (lazy migration)', async () => {
      const d = await startDaemon({
        databaseUrl: db.url,
        env: { ...env, AUTH0_LAZY_MIGRATION: 'true', JANUA_DATA_DIR: undefined },
      });
      try {
        const call = client(d);
        const before = fake.passwordGrants.length;
        const res = await call('POST', `${AUTH}/signin`, {
          body: { email: 'user.20@example.test', password: PASSWORD },
        });
        assert.equal(res.status, 200, res.text);
        assert.equal(fake.passwordGrants.length, before + 1);
        const withHash = await call('POST', `${AUTH}/signin`, {
          body: { email: 'user.2@example.test', password: PASSWORD },
        });
        assert.equal(withHash.status, 200, withHash.text);
        assert.equal(fake.passwordGrants.length, before + 1, 'a user with a migrated hash never asks Auth0');
      } finally {
        await d.stop();
      }
    });
  });
}
