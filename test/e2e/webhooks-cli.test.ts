/**
 * `janua webhooks` on each dialect, the real binary on a fresh database (no daemon needed): create prints the
 * secret once and refuses a private target unless WEBHOOK_ALLOW_PRIVATE_TARGETS=true, list --json, get (masked),
 * test, deliveries (--since as a span), delivery with its body, delete needs --yes without a terminal, and the
 * exit codes 2 (bad usage or value) and 4 (not found).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';
import { PASSWORD, uniqueEmail } from './support.js';

for (const dialect of dialects()) {
  describe(`janua webhooks (${dialect}, real binary)`, () => {
    let db: TestDatabase;
    let databaseUrl: string;
    let orgId: string;
    const masterKey = newMasterKey();
    before(async () => {
      db = await createTestDatabase(dialect);
      databaseUrl = db.url;
      const env = { DATABASE_URL: databaseUrl, JANUA_MASTER_KEY: masterKey, BCRYPT_ROUNDS: '4' };
      const email = uniqueEmail('owner');
      const user = await runCli(['users', 'create', '--email', email, '--password-stdin'], {
        env,
        stdin: PASSWORD,
      });
      assert.equal(user.code, 0, user.stderr);
      const org = await runCli(
        ['orgs', 'create', '--name', 'Hooks', '--slug', `hooks-${dialect}`, '--owner', email, '--json'],
        { env },
      );
      assert.equal(org.code, 0, org.stderr);
      orgId = JSON.parse(org.stdout).id;
    });
    after(() => db.drop());

    test('janua webhooks: create prints the secret once, list --json, get, deliveries, exit codes 2 and 4', async () => {
      const env = { DATABASE_URL: databaseUrl, JANUA_MASTER_KEY: masterKey };
      const refused = await runCli(['webhooks', 'create', '--url', 'http://127.0.0.1:9/h', '--events', '*'], {
        env,
      });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /private/);
      const made = await runCli(
        [
          'webhooks',
          'create',
          '--url',
          'http://127.0.0.1:9/h',
          '--events',
          'user.*,user.signed_in',
          '--org',
          orgId,
          '--header',
          'X-Env: test',
        ],
        { env: { ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } },
      );
      assert.equal(made.code, 0, made.stderr);
      const shown = /signing secret: (whsec_\S+)/.exec(made.stdout)?.[1];
      assert.ok(shown, made.stdout);
      assert.match(made.stdout, /shown only once/);
      const id = /endpoint ([0-9a-f-]{36})/.exec(made.stdout)![1]!;
      const list = await runCli(['webhooks', 'list', '--org', orgId, '--json'], { env });
      assert.equal(list.code, 0, list.stderr);
      const doc = JSON.parse(list.stdout);
      const row = doc.endpoints.find((e: { id: string }) => e.id === id);
      assert.deepEqual(row.events, ['user.*', 'session.created']);
      assert.deepEqual(row.headers, { 'X-Env': 'test' });
      assert.ok(!list.stdout.includes(shown.slice(6)), 'the secret is not listed');
      const got = await runCli(['webhooks', 'get', id, '--json'], { env });
      assert.equal(JSON.parse(got.stdout).secret, `whsec_…${shown.slice(-4)}`);
      const test = await runCli(['webhooks', 'test', id, '--json'], { env });
      assert.equal(test.code, 0, test.stderr);
      const deliveryId = JSON.parse(test.stdout).delivery_id;
      const ds = await runCli(['webhooks', 'deliveries', '--webhook', id, '--since', '1h', '--json'], {
        env,
      });
      assert.equal(ds.code, 0, ds.stderr);
      assert.deepEqual(
        JSON.parse(ds.stdout).deliveries.map((d: { id: string }) => d.id),
        [deliveryId],
      );
      const one = await runCli(['webhooks', 'delivery', deliveryId], { env });
      assert.match(one.stdout, /"type":"webhook\.test"/);
      assert.equal(
        (await runCli(['webhooks', 'get', '00000000-0000-4000-8000-000000000000'], { env })).code,
        4,
      );
      assert.equal((await runCli(['webhooks', 'get', 'nope'], { env })).code, 2);
      assert.equal((await runCli(['webhooks', 'deliveries', '--since', 'yesterday'], { env })).code, 2);
      assert.equal(
        (await runCli(['webhooks', 'create', '--url', 'https://x.example.com/', '--events', 'nope'], { env }))
          .code,
        2,
      );
      const noYes = await runCli(['webhooks', 'delete', id], { env });
      assert.equal(noYes.code, 2, 'refuses without --yes and without a terminal');
      const del = await runCli(['webhooks', 'delete', id, '--yes'], { env });
      assert.equal(del.code, 0, del.stderr);
      assert.equal((await runCli(['webhooks', 'get', id], { env })).code, 4);
    });
  });
}
