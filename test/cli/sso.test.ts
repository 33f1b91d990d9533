/**
 * `janua sso` through the built binary on every dialect: create from IdP metadata (a file) and from fields,
 * list/get (--json as the API answers), update group roles, metadata (our SP metadata), test (a healthy
 * connection, then a captured response explained check by check: exit 1), domains add/verify/remove, the
 * non-interactive setup, delete needing --yes without a terminal; exit codes 2 (usage) and 4 (not found).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';
import { createTestIdp, type TestIdp } from '../helpers/saml-idp.js';

const PASSWORD = 'SecurePass123!x';

for (const dialect of dialects()) {
  describe(`janua sso (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let idp: TestIdp;
    const dir = tempDir();
    const cli = (args: string[]) => runCli(['sso', ...args], { env });
    const metadataFile = join(dir.path, 'idp.xml');
    const certFile = join(dir.path, 'idp.pem');

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
      };
      idp = await createTestIdp();
      writeFileSync(metadataFile, idp.metadataXml);
      writeFileSync(certFile, idp.certPem);
      const u = await runCli(['users', 'create', '--email', 'owner@acme.test', '--password-stdin'], {
        env,
        stdin: PASSWORD,
      });
      assert.equal(u.code, 0, u.stderr);
      for (const slug of ['acme', 'beta']) {
        const o = await runCli(
          ['orgs', 'create', '--name', slug, '--slug', slug, '--owner', 'owner@acme.test'],
          { env },
        );
        assert.equal(o.code, 0, o.stderr);
      }
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('create from a metadata file, list, get by organization slug, update, metadata, test', async () => {
      const made = await cli([
        'create',
        '--org',
        'acme',
        '--provider',
        'okta',
        '--metadata-file',
        metadataFile,
        '--group-role',
        'admins=admin',
        '--json',
      ]);
      assert.equal(made.code, 0, made.stderr);
      const c = JSON.parse(made.stdout);
      assert.equal(c.saml_entity_id, idp.config.entityId);
      assert.deepEqual(c.attribute_mapping, {
        email: 'email',
        first_name: 'firstName',
        last_name: 'lastName',
        groups: 'groups',
      });
      assert.deepEqual(c.group_roles, { admins: 'admin' });
      const list = await cli(['list', '--json']);
      assert.equal(JSON.parse(list.stdout).total, 1);
      const got = await cli(['get', 'acme', '--json']);
      assert.equal(JSON.parse(got.stdout).id, c.id);
      const text = await cli(['get', c.id]);
      assert.match(text.stdout, /ACS URL \(HTTP-POST\): +http.*\/api\/v1\/sso\/acs\//);
      const up = await cli([
        'update',
        c.id,
        '--group-role',
        'staff=viewer',
        '--default-role',
        'viewer',
        '--json',
      ]);
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(JSON.parse(up.stdout).group_roles, { staff: 'viewer' });
      const md = await cli(['metadata', c.id]);
      assert.equal(md.code, 0, md.stderr);
      assert.ok(md.stdout.includes(`entityID="${c.sp_entity_id}"`));
      const ok = await cli(['test', c.id]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /SAMLRequest=/);
      // A captured response for another SP, from an unknown request: every failed check, in words; exit 1.
      const captured = join(dir.path, 'response.txt');
      writeFileSync(
        captured,
        await idp.signResponse({
          sp: { entityId: 'https://other.test', acsUrl: 'https://other.test/acs' },
          requestId: '_unknown',
          nameId: 'a@acme.test',
        }),
      );
      const bad = await cli(['test', c.id, '--response', captured]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /1\. \[/);
      assert.match(bad.stdout, /Audience/);
      assert.match(bad.stdout, /did not send/);
      const none = await cli(['delete', c.id]);
      assert.equal(none.code, 2, 'delete without a terminal needs --yes');
      const del = await cli(['delete', c.id, '--yes']);
      assert.equal(del.code, 0, del.stderr);
      assert.equal((await cli(['get', c.id])).code, 4);
    });

    test('create from fields; usage errors; unknown organization', async () => {
      const made = await cli([
        'create',
        '--org',
        'beta',
        '--entity-id',
        idp.config.entityId,
        '--sso-url',
        idp.config.ssoUrl,
        '--certificate-file',
        certFile,
        '--json',
      ]);
      assert.equal(made.code, 0, made.stderr);
      assert.equal(JSON.parse(made.stdout).saml_certificates.length, 1);
      const two = await cli([
        'create',
        '--org',
        'beta',
        '--metadata-file',
        metadataFile,
        '--metadata-url',
        'https://x.test/md',
      ]);
      assert.equal(two.code, 2, two.stderr);
      const none = await cli(['create', '--org', 'beta']);
      assert.equal(none.code, 2);
      const unknown = await cli(['create', '--org', 'nope', '--metadata-file', metadataFile]);
      assert.equal(unknown.code, 4, unknown.stderr);
      const badCert = join(dir.path, 'bad.pem');
      writeFileSync(badCert, 'not a certificate');
      const bad = await cli([
        'create',
        '--org',
        'beta',
        '--entity-id',
        'x',
        '--sso-url',
        'https://x.test/sso',
        '--certificate-file',
        badCert,
      ]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /certificate/);
    });

    test('domains: add (DNS record shown), verify without the record fails, operator-verified, remove', async () => {
      const add = await cli(['domains', 'add', '--org', 'acme', 'acme.test', '--json']);
      assert.equal(add.code, 0, add.stderr);
      assert.equal(JSON.parse(add.stdout).verified, false);
      assert.match(JSON.parse(add.stdout).dns_record.value, /^janua-verification=/);
      const verify = await cli(['domains', 'verify', '--org', 'acme', 'acme.test']);
      assert.equal(verify.code, 2, verify.stderr);
      assert.match(verify.stderr, /TXT record/);
      const taken = await cli(['domains', 'add', '--org', 'beta', 'acme.test']);
      assert.equal(taken.code, 5, 'one organization per domain');
      const direct = await cli(['domains', 'add', '--org', 'acme', 'acme2.test', '--verified', '--json']);
      assert.equal(JSON.parse(direct.stdout).verified, true);
      const list = await cli(['domains', 'list', '--org', 'acme', '--json']);
      assert.equal(JSON.parse(list.stdout).items.length, 2);
      assert.equal((await cli(['domains', 'remove', '--org', 'acme', 'acme.test'])).code, 0);
      assert.equal((await cli(['domains', 'remove', '--org', 'acme', 'acme.test'])).code, 4);
    });

    test('setup without a terminal: every answer as a flag, or exit 2 naming what is missing', async () => {
      const missing = await cli(['setup', '--org', 'acme']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--provider.*--metadata-url or --metadata-file/);
      const ok = await cli([
        'setup',
        '--org',
        'acme',
        '--provider',
        'azure_ad',
        '--metadata-file',
        metadataFile,
        '--default-role',
        'member',
        '--yes',
        '--json',
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const c = JSON.parse(ok.stdout);
      assert.equal(c.provider, 'azure_ad');
      assert.match(c.attribute_mapping.email, /claims\/emailaddress$/);
    });
  });
}
