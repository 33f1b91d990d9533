/**
 * `janua audit list|export` through the built binary against a real database, on every dialect: the --json
 * page and its filters (user by email, action prefix, outcome, relative --since), the table, the NDJSON
 * export to stdout and to a file (oldest first, the count on stderr), and usage errors (exit 2).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config/load.js';
import { type Container, createContainer } from '../../src/core/container.js';
import { audit, CLI_CONTEXT } from '../../src/core/events/events.js';
import { recordConsent } from '../../src/core/gdpr/consent.js';
import { createUser } from '../../src/core/users/service.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { newMasterKey, runCli } from '../helpers/janua.js';

interface Event {
  id: string;
  occurred_at: string;
  action: string;
  outcome: string;
  actor_id: string | null;
  target_id: string | null;
}

for (const dialect of dialects()) {
  describe(`janua audit (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let c: Container;
    let userId: string;
    const dir = tempDir();
    const cli = (args: string[]) => runCli(['audit', ...args], { env });

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
      // A second apart, so "newest first" has one answer.
      const clock = new FixedClock(new Date(Date.now() - 10_000));
      c = createContainer(loadConfig({ env }), { clock, logger: pino({ level: 'silent' }) });
      userId = (await createUser(c, { email: 'carol@example.com' }, CLI_CONTEXT)).id;
      await createUser(c, { email: 'dave@example.com' }, CLI_CONTEXT);
      clock.set(new Date(clock.now().getTime() + 1000));
      await recordConsent(c, userId, { purpose: 'terms', version: '1' }, CLI_CONTEXT);
      const old = new Date(Date.now() - 3 * 86_400_000);
      await audit(
        c.store.db,
        { actorId: userId, actorType: 'user' },
        { action: 'auth.signin', outcome: 'failure' },
        old,
      );
    });
    after(async () => {
      await c.close();
      await db.drop();
      dir.remove();
    });

    test('list --json: filters by user (email), action prefix, outcome and relative time', async () => {
      const all = await cli(['list', '--user', 'carol@example.com', '--json']);
      assert.equal(all.code, 0, all.stderr);
      const page = JSON.parse(all.stdout) as {
        items: Event[];
        total: number;
        page: number;
        per_page: number;
      };
      assert.equal(page.total, 3, 'created, consent granted, the old failed sign-in');
      for (const e of page.items) assert.ok(e.actor_id === userId || e.target_id === userId);
      assert.deepEqual(
        page.items.map((e) => e.action),
        ['consent.granted', 'user.create', 'auth.signin'],
        'newest first',
      );
      const recent = JSON.parse((await cli(['list', '--user', userId, '--since', '24h', '--json'])).stdout);
      assert.equal(recent.total, 2);
      const failures = JSON.parse((await cli(['list', '--outcome', 'failure', '--json'])).stdout);
      assert.deepEqual(
        failures.items.map((e: Event) => e.action),
        ['auth.signin'],
      );
      const consent = JSON.parse(
        (await cli(['list', '--action', 'consent.*', '--per-page', '1', '--json'])).stdout,
      );
      assert.equal(consent.total, 1);
      assert.equal(consent.per_page, 1);

      const table = await cli(['list', '--user', userId]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^OCCURRED_AT\s+ACTION\s+OUTCOME/);
      assert.match(table.stdout, /consent\.granted/);
      assert.match(table.stdout, /page 1 of 1 \(3 events\)/);

      const usage = await cli(['list', '--outcome', 'maybe']);
      assert.equal(usage.code, 2);
      const badTime = await cli(['list', '--since', 'yesterday']);
      assert.equal(badTime.code, 2);
      const unknown = await cli(['list', '--user', 'nobody@example.com']);
      assert.equal(unknown.code, 4, unknown.stderr);
    });

    test('export: NDJSON to stdout and to a file, oldest first, count on stderr', async () => {
      const out = await cli(['export']);
      assert.equal(out.code, 0, out.stderr);
      const events = out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Event);
      const total = JSON.parse((await cli(['list', '--json'])).stdout).total as number;
      assert.equal(events.length, total);
      assert.equal(events[0]!.action, 'auth.signin', 'the oldest event first');
      for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.occurred_at <= events[i]!.occurred_at);
      assert.match(out.stderr, new RegExp(`exported ${total} audit event\\(s\\)`));

      const file = join(dir.path, 'audit.ndjson');
      const f = await cli(['export', '--user', 'carol@example.com', '--since', '24h', '--out', file]);
      assert.equal(f.code, 0, f.stderr);
      assert.equal(f.stdout, '');
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as Event).action),
        ['user.create', 'consent.granted'],
      );
      assert.match(f.stderr, /exported 2 audit event\(s\) to /);

      const bad = await cli(['export', '--since', '2026-12-02', '--until', '2026-12-01']);
      assert.equal(bad.code === 0, false);
      assert.match(bad.stderr, /since/);
    });
  });
}
