/** `janua orgs` and `janua roles`, spawned as an operator runs them: --json shapes, tables and exit codes. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';

for (const dialect of dialects()) {
  describe(`janua orgs / roles (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    const dir = tempDir();
    const cli = (...args: string[]) => runCli(args, { env });
    const json = async (...args: string[]) => {
      const r = await cli(...args, '--json');
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
      };
      assert.equal((await cli('db', 'migrate')).code, 0);
      for (const e of ['ann@example.com', 'bob@example.com'])
        assert.equal((await cli('users', 'create', '--email', e)).code, 0);
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('orgs create / list / get / update, with exit codes for bad input', async () => {
      const org = await json(
        'orgs',
        'create',
        '--name',
        'Acme',
        '--slug',
        'acme',
        '--owner',
        'ann@example.com',
      );
      assert.equal(org.slug, 'acme');
      assert.match(org.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(Object.keys(org).sort(), [
        'created_at',
        'created_by',
        'description',
        'id',
        'logo_url',
        'metadata',
        'name',
        'require_mfa',
        'slug',
        'updated_at',
      ]);
      const bad = await cli(
        'orgs',
        'create',
        '--name',
        'X',
        '--slug',
        'Not Valid',
        '--owner',
        'ann@example.com',
      );
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /slug must be/);
      assert.equal(
        (await cli('orgs', 'create', '--name', 'X', '--slug', 'acme', '--owner', 'ann@example.com')).code,
        5,
      );
      assert.equal(
        (await cli('orgs', 'create', '--name', 'X', '--slug', 'xy', '--owner', 'nobody@example.com')).code,
        4,
      );
      assert.equal(
        (await cli('orgs', 'create', '--name', 'X', '--slug', 'xy')).code,
        2,
        '--owner is required',
      );

      const list = await json('orgs', 'list');
      assert.ok(Array.isArray(list));
      assert.deepEqual(
        list.map((o: { slug: string }) => o.slug),
        ['acme'],
      );
      const table = await cli('orgs', 'list');
      assert.match(table.stdout, /^ID\s+SLUG\s+NAME\s+CREATED_AT\n/);
      assert.equal((await json('orgs', 'get', 'acme')).id, org.id);
      assert.equal((await json('orgs', 'get', org.id)).slug, 'acme');
      const missing = await cli('orgs', 'get', 'nope');
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /not found/);
      const upd = await json('orgs', 'update', 'acme', '--description', 'Widgets', '--name', 'Acme Corp');
      assert.deepEqual([upd.name, upd.description], ['Acme Corp', 'Widgets']);
      assert.equal(upd.require_mfa, false);
      assert.equal((await json('orgs', 'update', 'acme', '--require-mfa', 'on')).require_mfa, true);
      assert.equal((await json('orgs', 'update', 'acme', '--require-mfa', 'off')).require_mfa, false);
      assert.equal((await cli('orgs', 'update', 'acme', '--require-mfa', 'maybe')).code, 2, 'usage error');
    });

    test('orgs members list / add / set-role / remove; the last owner stays', async () => {
      const added = await json('orgs', 'members', 'add', 'acme', 'bob@example.com', '--role', 'admin');
      assert.deepEqual([added.email, added.role], ['bob@example.com', 'admin']);
      assert.equal((await cli('orgs', 'members', 'add', 'acme', 'bob@example.com')).code, 5);
      const list = await json('orgs', 'members', 'list', 'acme');
      assert.deepEqual(
        list.map((m: { email: string; role: string }) => `${m.email}:${m.role}`),
        ['ann@example.com:owner', 'bob@example.com:admin'],
      );
      assert.equal(
        (await json('orgs', 'members', 'set-role', 'acme', 'bob@example.com', 'viewer')).role,
        'viewer',
      );
      const last = await cli('orgs', 'members', 'set-role', 'acme', 'ann@example.com', 'member');
      assert.equal(last.code, 5);
      assert.match(last.stderr, /at least one owner/);
      const unknownRole = await cli('orgs', 'members', 'set-role', 'acme', 'bob@example.com', 'emperor');
      assert.equal(unknownRole.code, 2);
      const noYes = await cli('orgs', 'members', 'remove', 'acme', 'bob@example.com');
      assert.equal(noYes.code, 2, 'no terminal and no --yes: refused');
      assert.match(noYes.stderr, /--yes/);
      assert.equal((await json('orgs', 'members', 'list', 'acme')).length, 2, 'nothing removed');
      assert.equal(
        (await json('orgs', 'members', 'remove', 'acme', 'bob@example.com', '--yes')).email,
        'bob@example.com',
      );
      assert.equal((await cli('orgs', 'members', 'remove', 'acme', 'bob@example.com', '--yes')).code, 4);
    });

    test('orgs invite prints the token once; inviting a member is a conflict', async () => {
      const human = await cli('orgs', 'invite', 'acme', '--email', 'carol@example.com', '--role', 'viewer');
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^token: \S{40,}$/m);
      const inv = await json('orgs', 'invite', 'acme', '--email', 'dave@example.com');
      assert.equal(inv.status, 'pending');
      assert.equal(inv.role, 'member');
      assert.ok(inv.token.length >= 40);
      assert.equal((await cli('orgs', 'invite', 'acme', '--email', 'ann@example.com')).code, 5);
    });

    test('roles list / create / delete', async () => {
      const builtIns = await json('roles', 'list');
      assert.deepEqual(
        builtIns.map((r: { name: string }) => r.name),
        ['owner', 'admin', 'member', 'viewer'],
      );
      const role = await json(
        'roles',
        'create',
        'acme',
        '--name',
        'billing',
        '--permissions',
        'organization:read,members:read',
      );
      assert.deepEqual(
        [role.name, role.built_in, role.permissions],
        ['billing', false, ['organization:read', 'members:read']],
      );
      assert.ok((await json('roles', 'list', 'acme')).some((r: { name: string }) => r.name === 'billing'));
      assert.equal((await cli('roles', 'create', 'acme', '--name', 'x2', '--permissions', 'bogus')).code, 2);
      assert.equal(
        (await cli('roles', 'create', 'acme', '--name', 'owner', '--permissions', 'users:read')).code,
        5,
      );
      assert.equal((await cli('roles', 'delete', 'acme', 'billing')).code, 2, 'needs --yes');
      assert.deepEqual(await json('roles', 'delete', 'acme', 'billing', '--yes'), {
        deleted: true,
        id: role.id,
        name: 'billing',
      });
      assert.equal((await cli('roles', 'delete', 'acme', 'billing', '--yes')).code, 4);
    });

    test('orgs transfer-ownership and delete', async () => {
      await json('orgs', 'members', 'add', 'acme', 'bob@example.com');
      const changed = await json('orgs', 'transfer-ownership', 'acme', 'bob@example.com');
      assert.deepEqual(changed.map((m: { email: string; role: string }) => `${m.email}:${m.role}`).sort(), [
        'ann@example.com:admin',
        'bob@example.com:owner',
      ]);
      assert.equal((await cli('orgs', 'delete', 'acme')).code, 2, 'needs --yes');
      assert.equal((await json('orgs', 'get', 'acme')).slug, 'acme');
      assert.deepEqual(Object.keys(await json('orgs', 'delete', 'acme', '--yes')).sort(), [
        'deleted',
        'id',
        'slug',
      ]);
      assert.equal((await cli('orgs', 'get', 'acme')).code, 4);
    });
  });
}
