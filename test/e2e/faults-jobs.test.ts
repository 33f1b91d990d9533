/**
 * Faults of the background machinery, on real processes (test/fixtures/background-node.ts runs what
 * `janua serve` runs in the background, with a slow job kind and a slow scheduled job):
 * - kill -9 of a node mid-job: no job is lost; another node runs the interrupted ones once their leases run out.
 * - SIGTERM mid-job: work that finishes within the grace period is recorded (a scheduled run here), jobs still
 *   running after it are given back (due at once, the attempt not counted), the scheduler's lease is released,
 *   and the process exits 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { systemClock } from '../../src/core/clock.js';
import { enqueueMany } from '../../src/core/jobs/queue.js';
import { migrate } from '../../src/core/store/migrator.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { baseEnv } from '../helpers/janua.js';
import { until } from '../helpers/until.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/background-node.js', import.meta.url));

interface Node {
  child: ChildProcess;
  out: string[];
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, [FIXTURE], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  await until(
    async () => out.join('').includes('ready\n') || child.exitCode !== null,
    20_000,
    'the node to start',
    50,
  );
  assert.equal(child.exitCode, null, out.join(''));
  return { child, out };
}

/** SIGTERM and wait for the exit (at once if it already exited); its exit code. */
async function stopNode(node: Node): Promise<number | null> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return node.child.exitCode;
  const exited = once(node.child, 'exit');
  node.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

for (const dialect of dialects()) {
  describe(`background faults (${dialect})`, () => {
    let db: TestDatabase;
    let store: Store;
    const env = () => ({ DATABASE_URL: db.url, JOBS_POLL_INTERVAL_MS: '100', LOG_LEVEL: 'warn' });
    before(async () => {
      db = await createTestDatabase(dialect);
      store = createStore(db.url, { poolSize: 3 });
      await migrate(store);
    });
    after(async () => {
      await store.destroy();
      await db.drop();
    });

    const states = async (ids: string[]) =>
      store.db.selectFrom('jobs').select(['id', 'state', 'attempts']).where('id', 'in', ids).execute();
    const doneRows = async () =>
      store.db
        .selectFrom('audit_events')
        .select('target_id')
        .where('action', '=', 'fixture.job.done')
        .execute();

    test('kill -9 of a node mid-job loses no job: another node runs the interrupted ones', async () => {
      const enq = await enqueueMany(
        store.db,
        { store, clock: systemClock },
        Array.from({ length: 12 }, (_, i) => ({ kind: 'fixture.slow', payload: { i } })),
      );
      const ids = enq.map((e) => e.id);
      const a = await startNode({ ...env(), JANUA_SCHEDULER: 'false', FIXTURE_JOB_MS: '400' });
      await until(async () => (await doneRows()).length >= 2, 20_000, 'some jobs done on node A');
      const killed = once(a.child, 'exit');
      a.child.kill('SIGKILL');
      await killed;
      // What node A was running when it died: still marked running, its leases not yet run out.
      const running = (await states(ids)).filter((s) => s.state === 'running').map((s) => s.id);
      assert.ok(running.length > 0, 'node A died holding jobs');
      const b = await startNode({ ...env(), JANUA_SCHEDULER: 'false', FIXTURE_JOB_MS: '50' });
      try {
        await until(
          async () => (await states(ids)).every((s) => s.state === 'succeeded'),
          30_000,
          'every job succeeded after the takeover',
        ).catch((err: Error) => {
          throw new Error(`${err.message}; node B said:\n${b.out.join('')}`);
        });
        const done = new Set((await doneRows()).map((r) => r.target_id));
        for (const id of ids) assert.ok(done.has(id), `job ${id} ran to its end`);
        const after = await states(running);
        assert.ok(
          after.every((s) => s.attempts >= 2),
          'the interrupted jobs were claimed again after their leases ran out',
        );
      } finally {
        await stopNode(b);
      }
    });

    test('SIGTERM: the running scheduled job finishes, slow jobs are given back, the lease is released, exit 0', async () => {
      await store.db.deleteFrom('jobs').execute();
      const node = await startNode({
        ...env(),
        FIXTURE_JOB_MS: '4000',
        FIXTURE_CRON_MS: '300',
        JANUA_SHUTDOWN_GRACE_SECONDS: '1',
        CRON_CLEANUP_JOBS: '* * * * * *',
      });
      const slow = await enqueueMany(
        store.db,
        { store, clock: systemClock },
        Array.from({ length: 3 }, () => ({ kind: 'fixture.slow' })),
      );
      const ids = slow.map((e) => e.id);
      await until(
        async () => (await states(ids)).every((s) => s.state === 'running'),
        20_000,
        'jobs running',
      );
      // Wait until a scheduled run is in progress, so the lease is held at SIGTERM.
      await until(
        async () =>
          (await store.db.selectFrom('cron_runs').select('id').where('outcome', '=', 'running').execute())
            .length > 0,
        20_000,
        'a scheduled run in progress',
      );
      const code = await stopNode(node);
      assert.equal(code, 0, node.out.join(''));
      assert.match(node.out.join(''), /stopped\n/);
      const given = await states(ids);
      assert.ok(
        given.every((s) => s.state === 'pending' && s.attempts === 0),
        `slow jobs given back: ${JSON.stringify(given)}`,
      );
      const runs = await store.db
        .selectFrom('cron_runs')
        .select('outcome')
        .where('job', '=', 'fixture.cron')
        .execute();
      assert.ok(runs.length > 0 && runs.every((r) => r.outcome === 'succeeded'), JSON.stringify(runs));
      if (dialect === 'postgres') {
        const locks = await sql<{
          n: number;
        }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`.execute(
          store.db,
        );
        assert.equal(locks.rows[0]!.n, 0, 'no advisory lock left behind');
      } else {
        const leases = await store.db.selectFrom('leases').selectAll().execute();
        assert.deepEqual(leases, [], 'the lease row is gone');
      }
    });
  });
}
