/**
 * `janua migrate auth0` from files, through the built binary, on each dialect: a users export (gzipped NDJSON
 * with bad records among the good) and Auth0's password-hash export. Migrated users sign in with their original
 * passwords on a spawned daemon; the report lists every bad record with its reason; a re-run changes nothing; a
 * dry run writes nothing; a run killed with SIGKILL mid-way and run again ends with exactly the source's users.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcrypt';
import { auth0User, hashLine, writeNdjson } from '../helpers/auth0-export.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { BIN, baseEnv, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import { onTerminal } from '../helpers/terminal.js';
import { AUTH, client, eventually, openStore, snapshot } from './support.js';

const N = 60;
const PASSWORDS = ['Correct-Horse-1', 'Battery-Staple-2', 'Tr0ub4dor&3'];

for (const dialect of dialects()) {
  describe(`janua migrate auth0 from files (${dialect})`, () => {
    let db: TestDatabase;
    const dir = tempDir('janua-migrate-');
    let env: Record<string, string>;
    const usersFile = join(dir.path, 'users.ndjson.gz');
    const hashesFile = join(dir.path, 'hashes.ndjson');
    const reportFile = join(dir.path, 'report.json');
    const cli = (args: string[]) => runCli(['migrate', 'auth0', ...args], { env });

    before(async () => {
      db = await createTestDatabase(dialect);
      env = { DATABASE_URL: db.url, JANUA_MASTER_KEY: newMasterKey(), JANUA_DATA_DIR: dir.path };
      const hashes = await Promise.all(PASSWORDS.map((p) => bcrypt.hash(p, 10)));
      const users: unknown[] = [];
      for (let i = 1; i <= N; i++) users.push(auth0User(i));
      users.splice(10, 0, '{"user_id": "auth0|broken", "email": ');
      users.splice(20, 0, { user_id: 'auth0|noemail', name: 'No Email' });
      users.splice(30, 0, { ...auth0User(5), user_id: 'auth0|dupe' });
      await writeNdjson(usersFile, users, true);
      // Users 1..30 have a hash (password PASSWORDS[i % 3]); one line has an unknown format.
      const lines: unknown[] = [];
      for (let i = 1; i <= 30; i++) lines.push(hashLine(i, hashes[i % 3]!));
      lines.push({
        ...hashLine(31, 'sha256$abc'),
        passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
      });
      await writeNdjson(hashesFile, lines);
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('dry run: every record checked, nothing written; the bad ones named', async () => {
      const store = openStore(db.url);
      try {
        // The first command initializes the empty database; take the snapshot after it.
        await cli(['--users', usersFile, '--dry-run', '--json']);
        const before = await snapshot(store);
        const r = await cli(['--users', usersFile, '--password-hashes', hashesFile, '--dry-run', '--json']);
        assert.equal(r.code, 3, r.stderr);
        const s = JSON.parse(r.stdout);
        assert.equal(s.dry_run, true);
        assert.equal(s.counts.users.read, N + 3);
        assert.equal(s.counts.users.created, N);
        assert.deepEqual(await snapshot(store), before);
      } finally {
        await store.destroy();
      }
    });

    test('migrates users with their passwords; bad records reported with reasons (exit 3)', async () => {
      const r = await cli([
        '--users',
        usersFile,
        '--password-hashes',
        hashesFile,
        '--report',
        reportFile,
        '--json',
      ]);
      assert.equal(r.code, 3, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.equal(s.counts.users.created, N);
      assert.equal(s.counts.users.failed, 3);
      assert.equal(s.counts.passwords.set, 30);
      assert.equal(s.counts.passwords.failed, 1);
      const report = JSON.parse(readFileSync(reportFile, 'utf8'));
      assert.equal(report.failures.length, 4);
      const reasons = report.failures
        .map((f: { index: number; reason: string }) => `${f.index}: ${f.reason}`)
        .join('\n');
      assert.match(reasons, /^11: invalid JSON/m);
      assert.match(reasons, /^21: .*email/m);
      assert.match(reasons, /^31: .*(email|duplicate)/im);
      assert.match(reasons, /unknown hash format/);
      assert.doesNotMatch(JSON.stringify(report), /\$2[ab]\$10\$/, 'no hash in the report');
      assert.ok(
        report.warnings.some((w: { reason: string }) => /MFA/i.test(w.reason)),
        'MFA enrolment listed',
      );
      assert.doesNotMatch(r.stderr + r.stdout, /\$2[ab]\$10\$/, 'no hash in the output');
    });

    test('migrated users sign in with their Auth0 passwords; profile, status and identities carried', async () => {
      const d = await startDaemon({
        databaseUrl: db.url,
        env: { JANUA_MASTER_KEY: env['JANUA_MASTER_KEY']! },
      });
      try {
        const call = client(d);
        for (const i of [1, 2, 3, 12]) {
          const res = await call('POST', `${AUTH}/signin`, {
            body: { email: `user.${i}@example.test`, password: PASSWORDS[i % 3] },
          });
          assert.equal(res.status, 200, `user ${i}: ${res.text}`);
          assert.equal(res.body.user.first_name, `Given${i}`);
          assert.equal(res.body.user.created_at, auth0User(i).created_at!.replace(/\.\d+Z$/, '.000Z'));
        }
        const wrong = await call('POST', `${AUTH}/signin`, {
          body: { email: 'user.1@example.test', password: 'not-the-password-1' },
        });
        assert.equal(wrong.status, 401);
        // No hash for user 40: no password yet (a reset or lazy migration gives one).
        const none = await call('POST', `${AUTH}/signin`, {
          body: { email: 'user.40@example.test', password: PASSWORDS[1] },
        });
        assert.equal(none.status, 401);
        // User 7 was blocked in Auth0.
        const blocked = await call('POST', `${AUTH}/signin`, {
          body: { email: 'user.7@example.test', password: PASSWORDS[1] },
        });
        assert.equal(blocked.status, 403, blocked.text);
        const store = openStore(db.url);
        try {
          const ids = await store.db
            .selectFrom('user_identities')
            .select(['provider', 'provider_user_id'])
            .where('provider', '=', 'google-oauth2')
            .execute();
          assert.equal(ids.length, N / 10);
          const rec = await store.db
            .selectFrom('import_records')
            .selectAll()
            .where('kind', '=', 'user')
            .execute();
          assert.equal(rec.length, N);
        } finally {
          await store.destroy();
        }
      } finally {
        await d.stop();
      }
    });

    test('--send-reset-email queues the reset mail for the active users still without a password', async () => {
      const r = await cli(['--users', usersFile, '--only', 'users', '--send-reset-email', '--json']);
      assert.equal(r.code, 3, r.stderr);
      const s = JSON.parse(r.stdout);
      // Users 31..60 came without a hash; the blocked one among them (57) gets no mail.
      assert.equal(s.counts.resets.queued, 29);
      const store = openStore(db.url);
      try {
        const jobs = await store.db
          .selectFrom('jobs')
          .select('payload')
          .where('kind', '=', 'auth.email_flow')
          .execute();
        const emails = jobs.map(
          (j) => (typeof j.payload === 'string' ? JSON.parse(j.payload) : j.payload).email,
        );
        assert.equal(emails.length, 29);
        assert.ok(emails.includes('user.40@example.test'));
        assert.ok(!emails.includes('user.1@example.test'), 'a user with a password gets no reset');
      } finally {
        await store.destroy();
      }
    });

    test('a re-run changes nothing: every user unchanged, no rows written', async () => {
      const store = openStore(db.url);
      try {
        const before = await snapshot(store);
        const r = await cli(['--users', usersFile, '--password-hashes', hashesFile, '--json']);
        assert.equal(r.code, 3, r.stderr);
        const s = JSON.parse(r.stdout);
        assert.equal(s.counts.users.unchanged, N);
        assert.equal(s.counts.users.created ?? 0, 0);
        assert.equal(s.counts.passwords.set ?? 0, 0);
        const after = await snapshot(store);
        // A run leaves its own run record; nothing else may change.
        delete before['import_runs'];
        delete after['import_runs'];
        delete before['audit_events'];
        delete after['audit_events'];
        assert.deepEqual(after, before);
      } finally {
        await store.destroy();
      }
    });

    test('on a terminal: the live view (bar, counts, failures as they happen), then the summary table', async () => {
      const { code, screen } = await onTerminal(['migrate', 'auth0', '--users', usersFile, '--dry-run'], env);
      assert.equal(code, 3, screen);
      assert.match(screen, /checking users\s+█+/, 'a bar: the file was counted');
      assert.match(screen, new RegExp(`${N + 3}/${N + 3}`));
      assert.match(screen, /users #11: invalid JSON/);
      assert.match(screen, /PHASE\s+READ\s+FAILED\s+UNCHANGED/);
    });

    test('usage errors exit 2 and name the problem; a missing file exits 4', async () => {
      const missing = await cli(['--users', join(dir.path, 'nope.ndjson')]);
      assert.equal(missing.code, 4, missing.stderr);
      assert.match(missing.stderr, /no such file/);
      for (const [args, re] of [
        [[], /--domain|--users/],
        [['--users', usersFile, '--only', 'everything'], /users, orgs or roles/],
        [['--users', usersFile, '--batch-size', '0'], /whole number/],
        [['--domain', 'tenant.example.test'], /client-id/],
      ] as const) {
        const r = await cli([...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, re);
      }
    });
  });

  describe(`janua migrate auth0: killed mid-run, resumed (${dialect})`, () => {
    let db: TestDatabase;
    const dir = tempDir('janua-migrate-kill-');
    const BIG = 20_000;
    before(async () => {
      db = await createTestDatabase(dialect);
    });
    after(async () => {
      await db.drop();
      dir.remove();
    });

    test('SIGKILL after some batches, then a re-run: exactly the source set, resumed from the checkpoint', async () => {
      const file = join(dir.path, 'big.ndjson');
      await writeNdjson(
        file,
        (function* () {
          for (let i = 1; i <= BIG; i++) yield auth0User(i, 'big.test');
        })(),
      );
      const env = { DATABASE_URL: db.url, JANUA_MASTER_KEY: newMasterKey(), JANUA_DATA_DIR: dir.path };
      const args = ['migrate', 'auth0', '--users', file, '--batch-size', '200', '--json'];
      // Initialize the schema first, so the kill lands in the import itself.
      await runCli(['db', 'migrate'], { env });
      const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), stdio: 'ignore' });
      const store = openStore(db.url);
      try {
        await eventually('a few committed batches', 60_000, async () => {
          const run = await store.db.selectFrom('import_runs').select('position').executeTakeFirst();
          return run && Number(run.position) >= 1000 ? run : undefined;
        });
        child.kill('SIGKILL');
        await new Promise((r) => child.once('close', r));
        const partial = Number(
          (
            await store.db
              .selectFrom('users')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
        assert.ok(partial >= 1000, `${partial} users before the kill`);
        const r = await runCli(args, { env });
        assert.equal(r.code, 0, r.stderr);
        const s = JSON.parse(r.stdout);
        assert.equal(s.resumed, true);
        const users = await store.db.selectFrom('users').select('email').execute();
        assert.equal(users.length, BIG);
        assert.equal(new Set(users.map((u) => u.email)).size, BIG);
        const records = await store.db.selectFrom('import_records').select('external_id').execute();
        assert.equal(records.length, BIG);
        const events = await store.db
          .selectFrom('outbox')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('event_type', '=', 'user.created')
          .executeTakeFirstOrThrow();
        assert.equal(Number(events.n), BIG, 'one user.created per user, none twice');
      } finally {
        await store.destroy();
      }
    });
  });
}
