/**
 * Background work on the spawned daemon: the outbox is drained by `janua serve`; scheduled jobs fire in-process
 * (not with --no-scheduler); and on Postgres, two daemons sharing one database run each due slot once and drain
 * every event once between them, beside a `janua cron run` of the same job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, PG_URL, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import { until } from '../helpers/until.js';
import { client, openStore, signUp, uniqueEmail } from './support.js';

/** Every second: the schedule the tests give cleanup.attempts so that slots come quickly. */
const EVERY_SECOND = '* * * * * *';

for (const dialect of dialects()) {
  describe(`background work in janua serve (${dialect})`, () => {
    let db: TestDatabase;
    let d: Daemon;
    let quiet: Daemon;
    before(async () => {
      db = await createTestDatabase(dialect);
      const key = newMasterKey();
      d = await startDaemon({
        databaseUrl: db.url,
        env: { JANUA_MASTER_KEY: key, CRON_CLEANUP_ATTEMPTS: EVERY_SECOND, JOBS_POLL_INTERVAL_MS: '200' },
      });
      quiet = await startDaemon({
        databaseUrl: db.url,
        env: { JANUA_MASTER_KEY: key, CRON_CLEANUP_ATTEMPTS: EVERY_SECOND },
        args: ['--no-scheduler'],
      });
    });
    after(async () => {
      await Promise.all([d.stop(), quiet.stop()]);
      await db.drop();
    });

    test('the events of a sign-up are drained: marked handled within moments', async () => {
      const store = openStore(db.url);
      try {
        const s = await signUp(client(d), uniqueEmail('drain'));
        await until(
          async () => {
            const rows = await store.db
              .selectFrom('outbox')
              .select('handled_at')
              .where('aggregate_id', '=', s.user.id)
              .execute();
            return rows.length > 0 && rows.every((r) => r.handled_at !== null);
          },
          10_000,
          'the user.created event handled',
        );
      } finally {
        await store.destroy();
      }
    });

    test('scheduled jobs run in janua serve, and not in a node started with --no-scheduler', async () => {
      const store = openStore(db.url);
      try {
        await until(
          async () =>
            (
              await store.db
                .selectFrom('cron_runs')
                .select('id')
                .where('job', '=', 'cleanup.attempts')
                .execute()
            ).length >= 2,
          20_000,
          'two scheduled runs',
        );
        const nodes = await store.db.selectFrom('cron_runs').select('node').distinct().execute();
        const pidOf = (node: string) => Number(node.split(':')[1]);
        assert.ok(
          nodes.every((n) => pidOf(n.node) === d.child.pid),
          `runs only on the scheduling node: ${JSON.stringify(nodes)}`,
        );
        // Log lines are written asynchronously: wait for the run's line rather than expect it at once.
        await until(
          async () =>
            d.logs.some((l) => l.includes('"job":"cleanup.attempts"') && l.includes('"outcome":"succeeded"')),
          5000,
          'the run logged',
        );
        // The runs are counted in the metrics, and the queue's depth is read at each scrape.
        await store.db
          .insertInto('jobs')
          .values({
            id: '00000000-0000-4000-8000-00000000abcd',
            kind: 'nobody.handles',
            payload: '{}',
            state: 'pending',
            run_at: new Date(),
            attempts: 0,
            max_attempts: 1,
            idempotency_key: null,
            claim_id: null,
            last_error: null,
            created_at: new Date(),
            updated_at: new Date(),
            finished_at: null,
          })
          .execute();
        const metrics = await (await fetch(`${d.url}/metrics`)).text();
        assert.match(metrics, /janua_job_runs_total\{job="cleanup\.attempts",outcome="success"\} [1-9]/);
        assert.match(metrics, /janua_job_run_duration_seconds_count\{job="cleanup\.attempts"\} [1-9]/);
        assert.match(metrics, /janua_jobs\{kind="nobody\.handles",state="pending"\} 1/);
      } finally {
        await store.destroy();
      }
    });
  });
}

if (dialects().includes('postgres') && PG_URL) {
  describe('two daemons on one Postgres: one run per slot, every event drained once', () => {
    let db: TestDatabase;
    let nodes: Daemon[] = [];
    before(async () => {
      db = await createTestDatabase('postgres');
      const key = newMasterKey();
      const env = {
        JANUA_MASTER_KEY: key,
        CRON_CLEANUP_ATTEMPTS: EVERY_SECOND,
        JOBS_POLL_INTERVAL_MS: '200',
        LOG_LEVEL: 'debug',
      };
      nodes = await Promise.all([0, 1].map(() => startDaemon({ databaseUrl: db.url, env })));
    });
    after(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await db.drop();
    });

    test('each slot of a job due every second runs on exactly one node, beside janua cron run', async () => {
      const store = openStore(db.url);
      try {
        const manual = await runCli(['cron', 'run', 'cleanup.attempts', '--json'], {
          env: { DATABASE_URL: db.url, JANUA_MASTER_KEY: 'unused' },
        });
        assert.equal(manual.code, 0, manual.stderr);
        assert.ok(['succeeded', 'skipped'].includes(JSON.parse(manual.stdout).outcome));
        await until(
          async () =>
            (await store.db.selectFrom('cron_runs').select('id').where('trigger', '=', 'schedule').execute())
              .length >= 5,
          30_000,
          'five scheduled slots',
        );
        const runsNow = await store.db
          .selectFrom('cron_runs')
          .select('id')
          .where('job', '=', 'cleanup.attempts')
          .where('outcome', '=', 'succeeded')
          .where('trigger', '=', 'schedule')
          .execute();
        // Log lines are written asynchronously: let those of the finished runs arrive.
        const logged = () =>
          nodes.flatMap((n) =>
            n.logs.filter(
              (l) => l.includes('"job":"cleanup.attempts"') && l.includes('"outcome":"succeeded"'),
            ),
          ).length;
        await until(async () => logged() >= runsNow.length, 5000, 'the run lines');
        const ranLines = nodes.flatMap((n) =>
          n.logs.filter((l) => l.includes('"job":"cleanup.attempts"') && l.includes('"outcome":"succeeded"')),
        );
        const skippedLines = nodes.flatMap((n) =>
          n.logs.filter((l) => l.includes('"job":"cleanup.attempts"') && l.includes('"outcome":"skipped"')),
        );
        const runs = await store.db
          .selectFrom('cron_runs')
          .select(['slot', 'node', 'outcome'])
          .where('job', '=', 'cleanup.attempts')
          .where('trigger', '=', 'schedule')
          .execute();
        const slots = runs.map((r) => new Date(r.slot as Date).toISOString());
        assert.equal(new Set(slots).size, slots.length, 'one record per slot');
        // Both nodes fired every slot; what ran is what was recorded, and the other node skipped it.
        // Counted from the snapshot taken before the lines: slots keep finishing every second, so a count read
        // after them may include runs whose lines have not arrived yet.
        const finished = runsNow.length;
        assert.ok(ranLines.length <= runs.length, `${ranLines.length} runs logged for ${runs.length} slots`);
        assert.ok(ranLines.length >= finished, `${ranLines.length} runs logged, ${finished} had succeeded`);
        assert.ok(
          skippedLines.length >= Math.min(finished, 3),
          `the other node skipped: ${skippedLines.length}`,
        );
      } finally {
        await store.destroy();
      }
    });

    test('sign-ups on both nodes: every event is handled', async () => {
      const store = openStore(db.url);
      try {
        const calls = nodes.map((n) => client(n));
        await Promise.all(
          Array.from({ length: 10 }, (_, i) => signUp(calls[i % 2]!, uniqueEmail(`n${i % 2}`))),
        );
        await until(
          async () =>
            (await store.db.selectFrom('outbox').select('seq').where('handled_at', 'is', null).execute())
              .length === 0,
          15_000,
          'every event handled',
        );
      } finally {
        await store.destroy();
      }
    });
  });
}
