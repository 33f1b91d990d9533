/**
 * `janua gdpr erase|requests|cancel` through the built binary on every dialect: an erasure request waits the
 * grace period (listed with its due date), is cancelled by the operator, and `--now --yes` erases at once
 * (exit 0, receipt in --json, the account gone); unknown users exit 4, a second request 5, --now without a
 * terminal and without --yes 2, a bad --status 2 — each changing nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { signUp } from '../../src/core/auth/service.js';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { ensureKeys } from '../../src/core/keys/keys.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';

const PASSWORD = 'SecurePass123!x';

for (const dialect of dialects()) {
  describe(`janua gdpr erase|requests|cancel (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let c: Container;
    let annId: string;
    const dir = tempDir();
    const cli = (args: string[]) => runCli(['gdpr', ...args], { env });
    const requestRows = async () =>
      (await c.store.db.selectFrom('gdpr_requests').selectAll().execute()).length;

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
        GDPR_ERASURE_GRACE_DAYS: '14',
      };
      const m = await runCli(['db', 'migrate'], { env });
      assert.equal(m.code, 0, m.stderr);
      c = createContainer(loadConfig({ env }), { logger: pino({ level: 'silent' }) });
      await ensureKeys(c);
      await c.keys.load();
      annId = (await signUp(c, { email: 'ann@example.com', password: PASSWORD, firstName: 'Ann' }, {})).user
        .id;
      await signUp(c, { email: 'ben@example.com', password: PASSWORD }, {});
    });
    after(async () => {
      await c.close();
      await db.drop();
      dir.remove();
    });

    test('bad input exits with the documented codes and changes nothing', async () => {
      const before = await requestRows();
      assert.equal((await cli(['erase', 'nobody@example.com'])).code, 4);
      const noYes = await cli(['erase', 'ann@example.com', '--now']);
      assert.equal(noYes.code, 2, noYes.stderr);
      assert.match(noYes.stderr, /--yes/);
      assert.equal((await cli(['requests', '--status', 'bogus'])).code, 2);
      assert.equal((await cli(['cancel', 'ann@example.com'])).code, 4);
      assert.equal(await requestRows(), before);
    });

    test('erase files a request due after the grace period; requests lists it; cancel ends it', async () => {
      const r = await cli(['erase', 'ann@example.com', '--reason', 'ticket 42', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.request.status, 'pending');
      assert.equal(out.request.user_id, annId);
      assert.equal((Date.parse(out.request.due_at) - Date.parse(out.request.created_at)) / 86_400_000, 14);
      assert.equal((await cli(['erase', annId])).code, 5, 'a second request conflicts');
      const listed = await cli(['requests', '--status', 'pending']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /DUE/);
      assert.match(listed.stdout, new RegExp(out.request.id));
      const json = JSON.parse((await cli(['requests', '--user', 'ann@example.com', '--json'])).stdout);
      assert.equal(json.data.length, 1);
      const cancelled = await cli(['cancel', 'ann@example.com']);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.match(cancelled.stdout, /cancelled erasure request/);
      const none = await cli(['requests', '--status', 'pending']);
      assert.match(none.stdout, /no requests/);
    });

    test('erase --now --yes erases at once and prints the receipt', async () => {
      const r = await cli(['erase', 'ann@example.com', '--now', '--yes', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.request.status, 'completed');
      assert.equal(out.receipt.executed_by_type, 'cli');
      assert.equal(out.receipt.steps.profile, 1);
      assert.ok(!r.stdout.includes('ann@example.com'));
      const gone = await c.store.db.selectFrom('users').select('id').where('id', '=', annId).execute();
      assert.equal(gone.length, 0);
      assert.equal((await cli(['erase', 'ann@example.com'])).code, 4, 'erased: unknown now');
      const plain = await cli(['erase', 'ben@example.com', '--now', '--yes']);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^erased; \d+ row\(s\) removed or anonymized; receipt /);
    });
  });
}
