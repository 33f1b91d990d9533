/**
 * `janua users passkeys list|remove` through the built binary on every dialect: an operator lists a user's
 * passkeys and removes one or all without the user's password; audited, events emitted, exit 4 for unknowns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { signUp } from '../../src/core/auth/service.js';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { ensureKeys } from '../../src/core/keys/keys.js';
import { beginRegistration, completeRegistration } from '../../src/core/passkeys/register.js';
import type { User } from '../../src/core/users/model.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

const PASSWORD = 'SecurePass123!x';
const ORIGIN = 'http://localhost:5173';

for (const dialect of dialects()) {
  describe(`janua users passkeys (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let c: Container;
    let user: User;
    const dir = tempDir();
    const cli = (args: string[]) => runCli(['users', 'passkeys', ...args], { env });

    before(async () => {
      db = await createTestDatabase(dialect);
      env = {
        DATABASE_URL: db.url,
        JANUA_DATA_DIR: dir.path,
        JANUA_MASTER_KEY: newMasterKey(),
        BCRYPT_ROUNDS: '4',
        WEBAUTHN_RP_ID: 'localhost',
        WEBAUTHN_ORIGINS: ORIGIN,
      };
      const m = await runCli(['db', 'migrate'], { env });
      assert.equal(m.code, 0, m.stderr);
      c = createContainer(loadConfig({ env }), { logger: pino({ level: 'silent' }) });
      await ensureKeys(c);
      await c.keys.load();
      user = (await signUp(c, { email: 'keys@example.com', password: PASSWORD }, {})).user;
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      for (const name of ['Laptop', 'Phone']) {
        const options = await beginRegistration(c, user);
        await completeRegistration(c, user, { credential: auth.create(options).response, name }, {});
      }
    });
    after(async () => {
      await c.close();
      await db.drop();
      dir.remove();
    });

    test('list: a table, and --json as the API answers', async () => {
      const t = await cli(['list', 'keys@example.com']);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /Laptop/);
      assert.match(t.stdout, /Phone/);
      const j = await cli(['list', user.id, '--json']);
      assert.equal(j.code, 0, j.stderr);
      const list = JSON.parse(j.stdout) as Array<{ name: string; user_id: string }>;
      // Registered within the same millisecond, perhaps: the order of equal times is not part of the contract.
      assert.deepEqual(list.map((p) => [p.name, p.user_id]).sort(), [
        ['Laptop', user.id],
        ['Phone', user.id],
      ]);
      assert.equal((await cli(['list', 'nobody@example.com'])).code, 4);
    });

    test('remove one, then the rest; audited as the operator, events emitted', async () => {
      const list = JSON.parse((await cli(['list', user.id, '--json'])).stdout) as Array<{ id: string }>;
      const refused = await cli(['remove', user.id, list[0]!.id]);
      assert.equal(refused.code, 2, 'without a terminal, --yes is required (a usage error)');
      assert.match(refused.stderr, /--yes/);
      assert.equal((await cli(['remove', user.id, '00000000-0000-4000-8000-000000000000', '--yes'])).code, 4);
      const one = await cli(['remove', user.id, list[0]!.id, '--yes', '--json']);
      assert.equal(one.code, 0, one.stderr);
      assert.deepEqual(JSON.parse(one.stdout).removed, [list[0]!.id]);
      const rest = await cli(['remove', 'keys@example.com', '--yes']);
      assert.equal(rest.code, 0, rest.stderr);
      assert.match(rest.stdout, /1 passkey\(s\) removed/);
      assert.deepEqual(JSON.parse((await cli(['list', user.id, '--json'])).stdout), []);
      const audit = await c.store.db
        .selectFrom('audit_events')
        .select(['actor_type', 'target_id'])
        .where('action', '=', 'passkey.remove')
        .execute();
      assert.deepEqual(
        audit.map((a) => [a.actor_type, a.target_id]),
        [
          ['cli', user.id],
          ['cli', user.id],
        ],
      );
      const events = await c.store.db
        .selectFrom('outbox')
        .select('id')
        .where('event_type', '=', 'security.passkey.removed')
        .execute();
      assert.equal(events.length, 2);
    });
  });
}
