/**
 * `janua users …` through the built binary on every dialect: table and --json output, exit codes
 * (2 usage, 3 partly failed import, 4 not found, 5 conflict), confirmations, and import idempotency.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { signIn } from '../../src/core/auth/service.js';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { ensureKeys } from '../../src/core/keys/keys.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';
import { SESSION_FIELDS } from '../helpers/users.js';

const PASSWORD = 'SecurePass123!x';
/** bcrypt of 'OtherPass123!x' (cost 4): an imported hash verifies as it is. */
const HASH = '$2b$04$nXhZYP6LoZiv8T4qgv07TuDfpmWWn/fuvZosHJod63kam2nCNz2t6';
type Doc = Record<string, unknown>;

for (const dialect of dialects()) {
  describe(`janua users (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let c: Container;
    const dir = tempDir();
    const cli = (args: string[], stdin?: string) =>
      runCli(['users', ...args], { env, ...(stdin ? { stdin } : {}) });
    const json = async (args: string[], code = 0, stdin?: string) => {
      const r = await cli([...args, '--json'], stdin);
      assert.equal(r.code, code, r.stderr);
      return JSON.parse(r.stdout) as Doc;
    };
    const file = (name: string, text: string) => {
      const p = join(dir.path, name);
      writeFileSync(p, text);
      return p;
    };
    const userCount = async () =>
      Number(
        (
          await c.store.db
            .selectFrom('users')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const signInAs = (email: string, password = PASSWORD) => signIn(c, { email, password }, {});

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
      };
      const m = await runCli(['db', 'migrate'], { env });
      assert.equal(m.code, 0, m.stderr);
      c = createContainer(loadConfig({ env }), { logger: pino({ level: 'silent' }) });
      await ensureKeys(c);
      await c.keys.load();
      const admin = await cli(
        ['create', '--email', 'root@example.com', '--admin', '--password-stdin'],
        PASSWORD,
      );
      assert.equal(admin.code, 0, admin.stderr);
    });
    after(async () => {
      await c.close();
      await db.drop();
      dir.remove();
    });

    test('import: per-record report, exit 3 on bad records, re-runnable, JSON arrays, --dry-run', async () => {
      const ndjson = file(
        'users.ndjson',
        [
          JSON.stringify({
            email: 'Ada@Example.com',
            first_name: 'Ada',
            last_name: 'Lovelace',
            email_verified: true,
          }),
          JSON.stringify({ email: 'alan@example.com', first_name: 'Alan', password_hash: HASH }),
          '',
          '{"email": "not-an-email"}',
          JSON.stringify({ email: 'grace@example.com', user_metadata: { team: 'navy' }, is_admin: false }),
          JSON.stringify({ email: 'ada@example.com' }),
          '{broken',
          JSON.stringify({ email: 'x@example.com', password: 'plain' }),
        ].join('\n'),
      );
      const first = await json(['import', ndjson], 3);
      assert.deepEqual(
        {
          created: first['created'],
          skipped: first['skipped'],
          failed: first['failed'],
          dry_run: first['dry_run'],
        },
        { created: 3, skipped: 1, failed: 3, dry_run: false },
      );
      const items = first['items'] as Doc[];
      assert.deepEqual(
        items.map((i) => [i['index'], i['status']]),
        [
          [1, 'created'],
          [2, 'created'],
          [3, 'failed'],
          [4, 'created'],
          [5, 'skipped'],
          [6, 'failed'],
          [7, 'failed'],
        ],
      );
      assert.match(String(items[0]!['id']), /^[0-9a-f-]{36}$/);
      assert.match(String(items[2]!['reason']), /valid email/);
      assert.match(String(items[5]!['reason']), /invalid JSON on line 7/);
      assert.match(String(items[6]!['reason']), /plain passwords are not imported/);
      assert.equal(await userCount(), 4);
      const alan = await signInAs('alan@example.com', 'OtherPass123!x');
      assert.equal(alan.user.email, 'alan@example.com', 'an imported bcrypt hash signs in as it is');

      const again = await json(['import', ndjson], 3);
      assert.equal(again['created'], 0, 're-running creates nothing twice');
      assert.equal(again['skipped'], 4);
      assert.equal((again['items'] as Doc[])[0]!['reason'], 'already exists');
      assert.equal(await userCount(), 4);
      const events = await c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('event_type', '=', 'user.created')
        .execute();
      assert.equal(events.length, 4, 'one user.created per created user (root + 3)');

      const array = file(
        'users.json',
        JSON.stringify([
          { email: 'linus@example.com', first_name: 'Linus', user_metadata: { tags: ['a,]', '{b'] } },
          { email: 'barbara@example.com', last_name: 'Liskov' },
        ]),
      );
      const dry = await cli(['import', array, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /1\s+created\s+linus@example\.com/);
      assert.match(dry.stdout, /dry run: would create 2, skipped 0, failed 0/);
      assert.equal(await userCount(), 4, '--dry-run changes nothing');
      const human = await cli(['import', array]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /2\s+created\s+barbara@example\.com\s+[0-9a-f-]{36}/);
      assert.match(human.stdout, /created 2, skipped 0, failed 0/);
      assert.equal(await userCount(), 6);

      const truncated = await json(
        ['import', file('cut.json', '[{"email":"t1@example.com"},{"email":"t2@ex')],
        3,
      );
      assert.equal(truncated['created'], 1);
      assert.match(String((truncated['items'] as Doc[])[1]!['reason']), /not closed/);

      const missing = await cli(['import', join(dir.path, 'nope.json')]);
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /no such file/);
    });

    test('control characters: set-password and create exit 2; an import names the record and the field', async () => {
      const before = await userCount();
      for (const pw of [`${PASSWORD}\u0000`, `${PASSWORD}\u0007`, `Secure\tPass123!x`]) {
        const r = await cli(['set-password', 'root@example.com', '--password-stdin'], pw);
        assert.equal(r.code, 2, JSON.stringify(pw));
        assert.match(r.stderr, /password must not contain control characters/);
      }
      const email = await cli(['create', '--email', 'a\u0001b@example.com', '--password-stdin'], PASSWORD);
      assert.equal(email.code, 2, email.stderr);
      assert.match(email.stderr, /valid email/);

      const records = [
        { email: 'cc1@example.com', first_name: 'A\u0000' },
        { email: 'cc2@example.com', last_name: 'B\u001b[31m' },
        { email: 'cc3@example.com', user_metadata: { tags: ['ok', 'x\u0000'] } },
        { email: 'cc4\u0000@example.com' },
        { email: 'cc5@example.com', user_metadata: { note: 'tab\t and escape \u001b are data here' } },
      ];
      // A dry run: the records are checked all the same, and the users the later tests count stay as they are.
      const ndjson = file('cc.ndjson', records.map((r) => JSON.stringify(r)).join('\n'));
      const report = await json(['import', ndjson, '--dry-run'], 3);
      assert.deepEqual([report['created'], report['failed']], [1, 4]);
      const reasons = (report['items'] as Doc[]).map((i) => [i['status'], i['reason'] ?? null]);
      assert.deepEqual(reasons, [
        ['failed', 'first_name must not contain control characters (U+0000–U+001F, U+007F–U+009F)'],
        ['failed', 'last_name must not contain control characters (U+0000–U+001F, U+007F–U+009F)'],
        ['failed', 'user_metadata.tags.1 must not contain the NUL character (U+0000)'],
        ['failed', 'A valid email address is required'],
        ['created', null],
      ]);
      assert.equal(await userCount(), before);
    });

    test('list: table, --json shape, search, filters, paging; bad options exit 2, unknown org 4', async () => {
      const table = await cli(['list', '--sort', 'email', '--per-page', '3']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^ID\s+EMAIL\s+NAME\s+STATUS\s+IS_ADMIN\s+EMAIL_VERIFIED\s+CREATED_AT/);
      assert.match(table.stdout, /ada@example\.com\s+Ada Lovelace\s+active/);
      assert.match(table.stdout, /page 1 of 3 \(7 users\)\n$/);

      const doc = await json(['list', '--search', 'LI', '--sort', 'email']);
      assert.deepEqual(Object.keys(doc).sort(), ['page', 'pages', 'per_page', 'total', 'users']);
      assert.deepEqual(
        (doc['users'] as Doc[]).map((u) => u['email']),
        ['barbara@example.com', 'linus@example.com'],
        'prefix of email or last name (Liskov)',
      );
      const u = (doc['users'] as Doc[])[0]!;
      for (const k of [
        'id',
        'email',
        'email_verified',
        'first_name',
        'status',
        'is_admin',
        'created_at',
        'user_metadata',
      ])
        assert.ok(k in u, k);
      const p2 = await json(['list', '--page', '2', '--per-page', '5']);
      assert.equal((p2['users'] as Doc[]).length, 2);
      assert.equal(p2['page'], 2);
      assert.equal((await json(['list', '--status', 'suspended']))['total'], 0);

      for (const args of [
        ['--per-page', '101'],
        ['--page', '0'],
        ['--status', 'gone'],
        ['--sort', 'password'],
      ]) {
        const r = await cli(['list', ...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      }
      const org = await cli(['list', '--org', 'no-such-org']);
      assert.equal(org.code, 4);
      assert.match(org.stderr, /Organization no-such-org not found/);
    });

    test('get, update: by id or email; unknown 4, conflict 5, nothing to change 2', async () => {
      const ada = await json(['get', 'ADA@example.com']);
      assert.equal(ada['first_name'], 'Ada');
      const byId = await cli(['get', String(ada['id'])]);
      assert.equal(byId.code, 0);
      assert.match(byId.stdout, /email:\s+ada@example\.com/);
      for (const who of ['nobody@example.com', randomUUID(), 'not-an-id']) {
        const r = await cli(['get', who]);
        assert.equal(r.code, 4, who);
        assert.match(r.stderr, /not found/);
      }
      const upd = await json([
        'update',
        'ada@example.com',
        '--first-name',
        'Augusta',
        '--admin',
        '--no-verified',
      ]);
      assert.equal(upd['first_name'], 'Augusta');
      assert.equal(upd['is_admin'], true);
      assert.equal(upd['email_verified'], false);
      const demote = await json(['update', 'ada@example.com', '--no-admin']);
      assert.equal(demote['is_admin'], false);
      const conflict = await cli(['update', 'ada@example.com', '--email', 'alan@example.com']);
      assert.equal(conflict.code, 5);
      assert.match(conflict.stderr, /already exists/);
      const bad = await cli(['update', 'ada@example.com', '--email', 'nope']);
      assert.equal(bad.code, 2);
      const nothing = await cli(['update', 'ada@example.com']);
      assert.equal(nothing.code, 2);
      assert.match(nothing.stderr, /nothing to change/);
      const lastAdmin = await cli(['update', 'root@example.com', '--no-admin']);
      assert.equal(lastAdmin.code, 5);
      assert.match(lastAdmin.stderr, /last active platform administrator/);
    });

    test('sessions, revoke-sessions, set-password, suspend/reactivate, lock/unlock', async () => {
      await cli(['set-password', 'grace@example.com', '--password-stdin'], `${PASSWORD}\n`);
      await signInAs('grace@example.com');
      await signInAs('grace@example.com');
      const sessions = (await json(['sessions', 'grace@example.com'])) as unknown as Doc[];
      assert.equal(sessions.length, 2);
      assert.deepEqual(Object.keys(sessions[0]!).sort(), SESSION_FIELDS);
      const table = await cli(['sessions', 'grace@example.com']);
      assert.match(table.stdout, /^ID\s+CREATED_AT\s+LAST_USED_AT\s+EXPIRES_AT/);
      assert.deepEqual(await json(['revoke-sessions', 'grace@example.com']), {
        user_id: sessions.length && (await json(['get', 'grace@example.com']))['id'],
        sessions_revoked: 2,
      });
      assert.equal(((await json(['sessions', 'grace@example.com'])) as unknown as Doc[]).length, 0);

      await signInAs('grace@example.com');
      const weak = await cli(['set-password', 'grace@example.com', '--password-stdin'], 'short');
      assert.equal(weak.code, 2);
      const noFlag = await cli(['set-password', 'grace@example.com']);
      assert.equal(noFlag.code, 2);
      const set = await json(
        ['set-password', 'grace@example.com', '--password-stdin'],
        0,
        'NewSecurePass1!x\n',
      );
      assert.equal(set['sessions_revoked'], 1, 'a new password ends every session');
      await signInAs('grace@example.com', 'NewSecurePass1!x');

      const s = await json(['suspend', 'grace@example.com']);
      assert.equal((s['user'] as Doc)['status'], 'suspended');
      assert.equal(s['sessions_revoked'], 1);
      await assert.rejects(signInAs('grace@example.com', 'NewSecurePass1!x'), /suspended/);
      const r = await cli(['reactivate', 'grace@example.com']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /grace@example\.com: active/);

      const l = await json(['lock', 'grace@example.com', '--minutes', '10']);
      assert.ok(Date.parse(String(l['locked_until'])) > Date.now() + 9 * 60_000);
      await assert.rejects(signInAs('grace@example.com', 'NewSecurePass1!x'), /Too many failed/);
      assert.equal((await json(['unlock', 'grace@example.com']))['was_locked'], true);
      await signInAs('grace@example.com', 'NewSecurePass1!x');
      const badMinutes = await cli(['lock', 'grace@example.com', '--minutes', 'soon']);
      assert.equal(badMinutes.code, 2);
      for (const cmd of ['suspend', 'reactivate', 'lock', 'sessions', 'revoke-sessions']) {
        const missing = await cli([cmd, 'ghost@example.com']);
        assert.equal(missing.code, 4, cmd);
      }
      // An email with no account locks like a real one; unlock lifts it by email (an unknown id is still 4).
      for (let i = 0; i < 5; i++) await assert.rejects(signInAs('ghost@example.com', 'Wrong-Pass123!x'));
      await assert.rejects(signInAs('ghost@example.com', 'Wrong-Pass123!x'), /Too many failed/);
      assert.deepEqual(await json(['unlock', 'Ghost@Example.com']), {
        user: null,
        email: 'ghost@example.com',
        was_locked: true,
      });
      await assert.rejects(signInAs('ghost@example.com', 'Wrong-Pass123!x'), /Invalid email or password/);
      assert.match((await cli(['unlock', 'ghost@example.com'])).stdout, /no account; was not locked/);
      assert.equal((await cli(['unlock', randomUUID()])).code, 4);
    });

    test('delete: refuses without --yes off a terminal; deactivates; --hard deletes, 5 for a sole owner', async () => {
      const before = await userCount();
      const refused = await cli(['delete', 'alan@example.com']);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /pass --yes/);
      assert.equal((await json(['get', 'alan@example.com']))['status'], 'active', 'nothing changed');

      await cli(['set-password', 'linus@example.com', '--password-stdin'], PASSWORD);
      await signInAs('linus@example.com');
      const soft = await json(['delete', 'linus@example.com', '--yes']);
      assert.deepEqual(Object.keys(soft).sort(), ['email', 'hard', 'id', 'sessions_revoked']);
      assert.equal(soft['hard'], false);
      assert.equal(soft['sessions_revoked'], 1);
      assert.equal((await json(['get', 'linus@example.com']))['status'], 'deleted');

      const barbara = await json(['get', 'barbara@example.com']);
      const orgId = randomUUID();
      const now = new Date();
      await c.store.db
        .insertInto('organizations')
        .values({
          id: orgId,
          name: 'B',
          slug: 'b-org',
          metadata: '{}',
          created_at: now,
          updated_at: now,
        } as never)
        .execute();
      await c.store.db
        .insertInto('organization_members')
        .values({ organization_id: orgId, user_id: barbara['id'], role: 'owner', joined_at: now } as never)
        .execute();
      const owner = await cli(['delete', 'barbara@example.com', '--hard', '--yes']);
      assert.equal(owner.code, 5);
      assert.match(owner.stderr, /only owner/);
      assert.equal((await json(['list', '--org', 'b-org']))['total'], 1, '--org takes a slug');

      const hard = await cli(['delete', 'alan@example.com', '--hard', '-y']);
      assert.equal(hard.code, 0, hard.stderr);
      assert.match(hard.stdout, /deleted alan@example\.com/);
      assert.equal((await cli(['get', 'alan@example.com'])).code, 4);
      assert.equal(await userCount(), before - 1);
      assert.equal((await cli(['delete', 'alan@example.com', '--yes'])).code, 4);
    });
  });
}
