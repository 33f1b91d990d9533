/** The built `janua` binary as an operator uses it: output, --json shapes and exit codes, on every dialect. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { MIGRATIONS } from '../../src/core/store/migrations/index.js';
import { migrate } from '../../src/core/store/migrator.js';
import { createStore } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';

test('--version, --help and help COMMAND exit 0', async () => {
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  for (const cmd of ['serve', 'db', 'keys', 'users']) assert.match(h.stdout, new RegExp(`\\b${cmd}\\b`));
  const k = await runCli(['help', 'keys']);
  assert.equal(k.code, 0);
  assert.match(k.stdout, /rotate/);
});

test('usage errors exit 2 and say what is wrong', async () => {
  const r = await runCli(['bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'bogus'/);
  const m = await runCli(['users', 'create']);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /--email/);
});

test('invalid configuration exits 2 naming the setting', async () => {
  const dir = tempDir();
  try {
    const port = await runCli(['db', 'status'], { env: { JANUA_DATA_DIR: dir.path, BCRYPT_ROUNDS: 'lots' } });
    assert.equal(port.code, 2);
    assert.match(port.stderr, /bcryptRounds \(BCRYPT_ROUNDS\) must be a whole number/);
    const url = await runCli(['db', 'status'], { env: { DATABASE_URL: 'mysql://u:secretpw@h/db' } });
    assert.equal(url.code, 2);
    assert.match(url.stderr, /DATABASE_URL must start with sqlite: or postgres:\/\//);
    assert.doesNotMatch(url.stderr, /secretpw/, 'a password in a bad URL is not echoed');
  } finally {
    dir.remove();
  }
});

test('an unreachable Postgres exits 6', async () => {
  const r = await runCli(['users', 'unlock', 'a@b.co'], {
    env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' },
  });
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /cannot reach the database/);
});

for (const dialect of dialects()) {
  describe(`operator commands (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    const dir = tempDir();
    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
      };
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('db status on a fresh database lists pending migrations and exits 6; db migrate applies them', async () => {
      const pending = await runCli(['db', 'status', '--json'], { env });
      assert.equal(pending.code, 6);
      const doc = JSON.parse(pending.stdout) as {
        database: string;
        migrations: Array<{ version: number; state: string }>;
      };
      assert.equal(doc.database, dialect);
      assert.ok(doc.migrations.length >= 1);
      assert.ok(doc.migrations.every((m) => m.state === 'pending'));

      const migrate = await runCli(['db', 'migrate', '--json'], { env });
      assert.equal(migrate.code, 0, migrate.stderr);
      assert.equal(
        (JSON.parse(migrate.stdout) as { applied: unknown[] }).applied.length,
        doc.migrations.length,
      );
      const again = await runCli(['db', 'migrate'], { env });
      assert.equal(again.code, 0);
      assert.match(again.stdout, /up to date/);
      const status = await runCli(['db', 'status'], { env });
      assert.equal(status.code, 0);
      assert.match(status.stdout, /VERSION\s+NAME\s+STATE/);
      assert.match(status.stdout, /initial\s+applied/);
    });

    test('users create: --password-stdin, --admin, --json shape; duplicate exits 5', async () => {
      const r = await runCli(
        [
          'users',
          'create',
          '--email',
          ' Admin@Example.COM ',
          '--first-name',
          'Ada',
          '--admin',
          '--verified',
          '--password-stdin',
          '--json',
        ],
        {
          env,
          stdin: 'SecurePass123!x\n',
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const u = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(u['email'], 'admin@example.com');
      assert.equal(u['is_admin'], true);
      assert.equal(u['email_verified'], true);
      assert.equal(u['first_name'], 'Ada');
      assert.match(String(u['id']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.ok(!JSON.stringify(u).includes('$2'), 'no password hash in the output');

      const dup = await runCli(['users', 'create', '--email', 'admin@example.com'], { env });
      assert.equal(dup.code, 5);
      assert.match(dup.stderr, /already exists/);

      const weak = await runCli(['users', 'create', '--email', 'weak@example.com', '--password-stdin'], {
        env,
        stdin: 'short',
      });
      assert.equal(weak.code, 2);
      assert.match(weak.stderr, /Password must contain/);
    });

    test('users unlock: unknown id exits 4; a known one reports its state', async () => {
      const missing = await runCli(['users', 'unlock', '00000000-0000-4000-8000-000000000000'], { env });
      assert.equal(missing.code, 4);
      const noAccount = await runCli(['users', 'unlock', 'nobody@example.com', '--json'], { env });
      assert.equal(noAccount.code, 0, noAccount.stderr);
      assert.equal(JSON.parse(noAccount.stdout).user, null);
      const ok = await runCli(['users', 'unlock', 'admin@example.com', '--json'], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { was_locked: boolean }).was_locked, false);
    });

    test('keys: rotate creates keys, list shows states, retire and prune', async () => {
      const empty = await runCli(['keys', 'list', '--json'], { env });
      assert.equal(empty.code, 0, empty.stderr);
      assert.deepEqual(JSON.parse(empty.stdout), { keys: [] });

      const rot = await runCli(['keys', 'rotate', '--json'], { env });
      assert.equal(rot.code, 0, rot.stderr);
      const r = JSON.parse(rot.stdout) as { activated: string; retired: string[]; next: string };
      assert.equal(r.retired.length, 1, 'the first active key was retired');

      const list = await runCli(['keys', 'list', '--json'], { env });
      const keys = (
        JSON.parse(list.stdout) as {
          keys: Array<{ kid: string; state: string; alg: string; retires_at: string | null }>;
        }
      ).keys;
      assert.equal(keys.find((k) => k.state === 'active')?.kid, r.activated);
      assert.equal(keys.find((k) => k.state === 'next')?.kid, r.next);
      const retired = keys.find((k) => k.state === 'retired');
      assert.ok(retired?.retires_at, 'a retired key says until when it is published');
      assert.ok(keys.every((k) => k.alg === 'RS256'));

      const human = await runCli(['keys', 'list'], { env });
      assert.match(human.stdout, /KID\s+ALG\s+STATE\s+CREATED_AT\s+ACTIVATED_AT\s+RETIRES_AT/);

      const prune = await runCli(['keys', 'prune', '--json'], { env });
      assert.deepEqual(
        JSON.parse(prune.stdout),
        { removed: [] },
        'a retired key stays until its tokens expire',
      );

      const gone = await runCli(['keys', 'retire', '--immediately', '--json', '--', retired!.kid], { env });
      assert.equal(gone.code, 0, gone.stderr);
      const after = JSON.parse((await runCli(['keys', 'list', '--json'], { env })).stdout) as {
        keys: Array<{ kid: string }>;
      };
      assert.ok(!after.keys.some((k) => k.kid === retired!.kid), 'retire --immediately unpublishes the key');

      const unknown = await runCli(['keys', 'retire', 'no-such-kid'], { env });
      assert.equal(unknown.code, 4);
    });

    test('keys rotate without the master key fails and changes nothing', async () => {
      const before = await runCli(['keys', 'list', '--json'], { env });
      const { JANUA_MASTER_KEY: _, ...noKey } = env;
      const r = await runCli(['keys', 'rotate'], { env: noKey });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /master key/);
      const after = await runCli(['keys', 'list', '--json'], { env });
      assert.equal(after.stdout, before.stdout);
    });
  });
}

for (const dialect of dialects()) {
  describe(`a database that is not migrated (${dialect})`, () => {
    const dir = tempDir();
    const dbs: TestDatabase[] = [];
    const fresh = async () => {
      const db = await createTestDatabase(dialect);
      dbs.push(db);
      const env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
      };
      return { db, env };
    };
    after(async () => {
      for (const db of dbs) await db.drop();
      dir.remove();
    });

    test('brand-new: `users create --admin` right after install initializes it as serve does, saying so once', async () => {
      const { env } = await fresh();
      const r = await runCli(
        ['users', 'create', '--email', 'first@example.com', '--admin', '--password-stdin', '--json'],
        {
          env,
          stdin: 'SecurePass123!x',
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { is_admin: boolean }).is_admin, true);
      const said = r.stderr.split('\n').filter((l) => l.trim());
      assert.equal(said.length, 1, r.stderr);
      assert.match(
        said[0]!,
        new RegExp(
          `^initialized the new ${dialect} database: applied ${MIGRATIONS.length} schema migration\\(s\\)`,
        ),
      );
      const status = await runCli(['db', 'status', '--json'], { env });
      assert.equal(status.code, 0, status.stdout);
      const next = await runCli(['users', 'unlock', 'first@example.com'], { env });
      assert.equal(next.code, 0, next.stderr);
      assert.equal(next.stderr, '', 'initialized once: the next command says nothing');
    });

    test('behind: a database with some migrations applied is refused (exit 6) until `janua db migrate`', async () => {
      const { db, env } = await fresh();
      const store = createStore(db.url);
      try {
        await migrate(store, MIGRATIONS.slice(0, 1));
      } finally {
        await store.destroy();
      }
      const r = await runCli(['users', 'unlock', 'x@y.zz'], { env });
      assert.equal(r.code, 6);
      assert.match(
        r.stderr,
        new RegExp(
          `${MIGRATIONS.length - 1} pending schema migration\\(s\\): run \`janua db migrate\` first`,
        ),
      );
      const m = await runCli(['db', 'migrate', '--json'], { env });
      assert.equal(m.code, 0, m.stderr);
      assert.equal((JSON.parse(m.stdout) as { applied: unknown[] }).applied.length, MIGRATIONS.length - 1);
      assert.equal((await runCli(['users', 'unlock', 'x@y.zz'], { env })).code, 0);
    });

    test("someone else's: a database with tables but no janua migrations is refused and left alone", async () => {
      const { db, env } = await fresh();
      const store = createStore(db.url);
      try {
        await sql`create table their_table (id integer primary key)`.execute(store.db);
        const r = await runCli(['users', 'unlock', 'x@y.zz'], { env });
        assert.equal(r.code, 6);
        assert.match(r.stderr, /holds tables but no janua schema: check DATABASE_URL/);
        const tables = await store.db.introspection.getTables();
        assert.deepEqual(
          tables.map((t) => t.name),
          ['their_table'],
          'no janua table created',
        );
      } finally {
        await store.destroy();
      }
    });
  });
}
