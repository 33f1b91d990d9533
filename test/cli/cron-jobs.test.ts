/** `janua cron` and `janua jobs` as operators and system cron use them: output, --json, exit codes. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { enqueue } from '../../src/core/jobs/queue.js';
import { jobs } from '../../src/core/store/repos/jobs.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase, tempDir } from '../helpers/db.js';
import { BIN, baseEnv, newMasterKey, runCli } from '../helpers/janua.js';

const JOB_NAMES = [
  'keys.rotate',
  'keys.prune',
  'cleanup.sessions',
  'cleanup.attempts',
  'cleanup.audit',
  'cleanup.outbox',
  'cleanup.jobs',
  'cleanup.mail',
  'cleanup.webhooks',
  'cleanup.exports',
  'gdpr.erase-due',
  'sso.metadata-refresh',
];

for (const dialect of dialects()) {
  describe(`janua cron and janua jobs (${dialect})`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let store: Store;
    const dir = tempDir();
    before(async () => {
      db = await createTestDatabase(dialect);
      env = { DATABASE_URL: db.url, JANUA_DATA_DIR: dir.path, JANUA_MASTER_KEY: newMasterKey() };
      const m = await runCli(['db', 'migrate'], { env });
      assert.equal(m.code, 0, m.stderr);
      store = createStore(db.url, { poolSize: 2 });
    });
    after(async () => {
      await store.destroy();
      await db.drop();
      dir.remove();
    });

    test('cron run: runs one job and exits with its outcome; an unknown job is a usage error', async () => {
      const r = await runCli(['cron', 'run', 'keys.rotate', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.job, 'keys.rotate');
      assert.equal(report.outcome, 'succeeded');
      assert.equal(report.trigger, 'manual');
      assert.equal(report.rows_affected, 1, 'a fresh database gets its keys');
      const keys = await store.db.selectFrom('signing_keys').select('state').execute();
      assert.deepEqual(keys.map((k) => k.state).sort(), ['active', 'next']);

      const plain = await runCli(['cron', 'run', 'cleanup.sessions'], { env });
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^cleanup\.sessions succeeded in \d+ ms, 0 rows: deleted 0 sessions/);

      const unknown = await runCli(['cron', 'run', 'cleanup.everything'], { env });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown job "cleanup\.everything"; jobs: keys\.rotate, keys\.prune/);

      // Without the master key, rotation cannot seal a new key: the run fails, exit 1, and it is recorded.
      await store.db.deleteFrom('signing_keys').where('state', '=', 'next').execute();
      const noKey = await runCli(['cron', 'run', 'keys.rotate', '--json'], {
        env: { ...env, JANUA_MASTER_KEY: undefined },
      });
      assert.equal(noKey.code, 1);
      assert.equal(JSON.parse(noKey.stdout).outcome, 'failed');
      assert.match(JSON.parse(noKey.stdout).error, /master key/);
    });

    test('cron list: every job with its schedule, last run and next run; schedules come from the config', async () => {
      const r = await runCli(['cron', 'list', '--json'], { env: { ...env, CRON_CLEANUP_AUDIT: 'off' } });
      assert.equal(r.code, 0, r.stderr);
      const { jobs: list } = JSON.parse(r.stdout);
      assert.deepEqual(
        list.map((j: { job: string }) => j.job),
        JOB_NAMES,
      );
      const byName = new Map(list.map((j: { job: string }) => [j.job, j]));
      const rotate = byName.get('keys.rotate') as Record<string, unknown>;
      assert.equal(rotate['schedule'], '17 * * * *');
      assert.equal(rotate['outcome'], 'failed', 'the latest run of the test above');
      assert.equal(typeof rotate['duration_ms'], 'number');
      assert.equal(new Date(String(rotate['next_run'])).getUTCMinutes(), 17);
      const sessions = byName.get('cleanup.sessions') as Record<string, unknown>;
      assert.equal(sessions['outcome'], 'succeeded');
      assert.equal(sessions['rows_affected'], 0);
      const audit = byName.get('cleanup.audit') as Record<string, unknown>;
      assert.equal(audit['schedule'], null);
      assert.equal(audit['next_run'], null);
      assert.equal(audit['last_run'], null);

      const table = await runCli(['cron', 'list'], { env });
      assert.equal(table.code, 0);
      assert.match(
        table.stdout,
        /^JOB\s+SCHEDULE\s+LAST_RUN\s+OUTCOME\s+DURATION_MS\s+ROWS_AFFECTED\s+NEXT_RUN\n/,
      );

      const bad = await runCli(['cron', 'list'], { env: { ...env, CRON_KEYS_ROTATE: 'every day' } });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /cronKeysRotate \(CRON_KEYS_ROTATE\) must be a cron expression/);
    });

    test('janua cron runs the scheduler in the foreground: one log line per run, exit 0 on SIGTERM', async () => {
      const child = spawn(process.execPath, [BIN, 'cron'], {
        env: baseEnv({ ...env, CRON_CLEANUP_ATTEMPTS: '* * * * * *', LOG_LEVEL: 'info' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        lines.push(...parts);
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const runs = () => lines.filter((l) => l.includes('"job":"cleanup.attempts"'));
      const deadline = Date.now() + 20_000;
      while (runs().length < 2 && Date.now() < deadline && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 0, stderr);
      assert.ok(runs().length >= 2, `two runs logged:\n${lines.join('\n')}\n${stderr}`);
      const one = JSON.parse(runs()[0]!);
      assert.equal(one.outcome, 'succeeded');
      assert.equal(typeof one.duration_ms, 'number');
      assert.equal(one.rows_affected, 0);
      assert.match(one.msg, /^cleanup\.attempts succeeded: /);
      const recorded = await store.db
        .selectFrom('cron_runs')
        .select(['trigger', 'slot'])
        .where('job', '=', 'cleanup.attempts')
        .execute();
      assert.ok(recorded.length >= 2);
      assert.ok(recorded.every((r) => r.trigger === 'schedule' && r.slot !== null));
    });

    test('jobs list / retry / cancel: filters, per-id report, exit codes', async () => {
      const deps = { store, clock: systemClock };
      const a = await enqueue(store.db, deps, 'cli.test', { n: 1 });
      const b = await enqueue(store.db, deps, 'cli.test', { n: 2 });
      const c = await enqueue(store.db, deps, 'cli.other', { n: 3 });
      // b dies (its attempts are spent), as a worker would leave it.
      const [claimed] = await jobs.claim(store.db, store.dialect, 'cli.test', 1, new Date(), new Date(), 'x');
      const dead = claimed!.id === a.id ? a : b;
      const alive = dead === a ? b : a;
      await jobs.fail(store.db, dead.id, 'x', new Date(), 'smtp said no', null);

      const list = await runCli(['jobs', 'list', '--kind', 'cli.test', '--json'], { env });
      assert.equal(list.code, 0, list.stderr);
      const listed = JSON.parse(list.stdout).jobs;
      assert.deepEqual(listed.map((j: { id: string }) => j.id).sort(), [a.id, b.id].sort());
      const deadOnly = JSON.parse(
        (await runCli(['jobs', 'list', '--state', 'dead', '--json'], { env })).stdout,
      ).jobs;
      assert.deepEqual(
        deadOnly.map((j: { id: string; last_error: string }) => [j.id, j.last_error]),
        [[dead.id, 'smtp said no']],
      );
      const badState = await runCli(['jobs', 'list', '--state', 'exploded'], { env });
      assert.equal(badState.code, 2);

      const retry = await runCli(['jobs', 'retry', dead.id, '--json'], { env });
      assert.equal(retry.code, 0, retry.stderr);
      assert.deepEqual(JSON.parse(retry.stdout).changed, [dead.id]);
      assert.equal((await jobs.findById(store.db, dead.id))!.state, 'pending');

      const missing = '00000000-0000-4000-8000-000000000000';
      const partly = await runCli(['jobs', 'cancel', alive.id, missing], { env });
      assert.equal(partly.code, 3, partly.stderr);
      assert.match(partly.stdout, new RegExp(`cancelled ${alive.id}\\nnot found ${missing}`));
      const none = await runCli(['jobs', 'cancel', missing], { env });
      assert.equal(none.code, 4);
      const again = await runCli(['jobs', 'cancel', alive.id, '--json'], { env });
      assert.equal(again.code, 3);
      assert.deepEqual(JSON.parse(again.stdout).skipped, [{ id: alive.id, state: 'cancelled' }]);
      const notId = await runCli(['jobs', 'retry', 'abc'], { env });
      assert.equal(notId.code, 2);
      assert.match(notId.stderr, /"abc" is not a job id/);
      assert.equal((await jobs.findById(store.db, c.id))!.state, 'pending', 'other jobs untouched');
    });
  });
}
