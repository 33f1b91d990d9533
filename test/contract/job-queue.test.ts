/**
 * The durable job queue on every dialect: enqueue in the caller's transaction, idempotency keys, claims that
 * never hand one job to two workers, retries with backoff on a fixed clock, dead jobs, leases that expire when a
 * worker dies, per-kind concurrency, stop giving jobs back, and the operator actions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import type { JobKind } from '../../src/core/jobs/kinds.js';
import { backoffMs } from '../../src/core/jobs/kinds.js';
import { cancelJobs, enqueue, enqueueMany, retryJobs } from '../../src/core/jobs/queue.js';
import { JobWorkers } from '../../src/core/jobs/workers.js';
import { type Job, jobs } from '../../src/core/store/repos/jobs.js';
import { createStore } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { at, type TestStore, testStore } from '../helpers/store.js';
import { until } from '../helpers/until.js';

const logger = pino({ level: 'silent' });

/** Polls `check` until it holds (or fails after `ms`): the workers run on real timers. */

for (const dialect of dialects()) {
  describe(`job queue (${dialect})`, () => {
    let t: TestStore;
    const clock = new FixedClock(at(0));
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());
    const deps = () => ({ store: t.store, clock, logger });
    const get = async (id: string): Promise<Job> => (await jobs.findById(t.store.db, id))!;

    it('a job exists exactly when the transaction that enqueued it committed', async () => {
      const done = await t.store.transaction((tx) => enqueue(tx, deps(), 'test.tx', { n: 1 }));
      assert.equal((await get(done.id)).state, 'pending');
      let rolledBack: string | undefined;
      await assert.rejects(
        t.store.transaction(async (tx) => {
          rolledBack = (await enqueue(tx, deps(), 'test.tx', { n: 2 })).id;
          throw new Error('the change failed');
        }),
      );
      assert.ok(rolledBack);
      assert.equal(await jobs.findById(t.store.db, rolledBack), undefined);
    });

    it('an idempotency key makes a second enqueue return the first job', async () => {
      const a = await enqueue(t.store.db, deps(), 'test.idem', { v: 1 }, { idempotencyKey: 'order-42' });
      const b = await enqueue(t.store.db, deps(), 'test.idem', { v: 2 }, { idempotencyKey: 'order-42' });
      const c = await enqueue(t.store.db, deps(), 'test.idem.other', {}, { idempotencyKey: 'order-42' });
      assert.equal(a.created, true);
      assert.deepEqual(b, { id: a.id, created: false });
      assert.equal(c.created, true, 'keys are per kind');
      assert.deepEqual((await get(a.id)).payload, { v: 1 });
      const many = await enqueueMany(t.store.db, deps(), [
        { kind: 'test.idem', idempotencyKey: 'order-42' },
        { kind: 'test.idem', idempotencyKey: 'order-43' },
      ]);
      assert.deepEqual(
        many.map((m) => m.created),
        [false, true],
      );
      await assert.rejects(enqueue(t.store.db, deps(), 'Bad Kind!'), /invalid job kind/);
    });

    it('concurrent claims never hand one job to two workers', async () => {
      const kind = 'test.claims';
      await enqueueMany(
        t.store.db,
        deps(),
        Array.from({ length: 60 }, (_, i) => ({ kind, payload: { i } })),
      );
      // Separate stores: separate connection pools, as separate nodes would have.
      const others = [createStore(t.db.url, { poolSize: 3 }), createStore(t.db.url, { poolSize: 3 })];
      try {
        const claimers = [t.store, ...others].flatMap((s, n) =>
          Array.from({ length: 3 }, (_, k) =>
            (async () => {
              const got: string[] = [];
              for (;;) {
                const batch = await jobs.claim(
                  s.db,
                  s.dialect,
                  kind,
                  4,
                  at(0),
                  at(60_000),
                  `c${n}${k}${got.length}`,
                );
                if (batch.length === 0) return got;
                got.push(...batch.map((j) => j.id));
              }
            })(),
          ),
        );
        const all = (await Promise.all(claimers)).flat();
        assert.equal(all.length, 60, 'every job claimed');
        assert.equal(new Set(all).size, 60, 'no job claimed twice');
      } finally {
        await Promise.all(others.map((s) => s.destroy()));
      }
    });

    it('failures are retried with backoff, then the job is dead; retry brings it back', async () => {
      const kind = 'test.flaky';
      let calls = 0;
      const flaky: JobKind = {
        kind,
        backoff: { baseMs: 10_000, maxMs: 40_000 },
        async handle() {
          calls++;
          throw new Error(`boom ${calls}`);
        },
      };
      const { id } = await enqueue(t.store.db, deps(), kind, {}, { maxAttempts: 3 });
      const w = new JobWorkers(deps(), [flaky], { pollMs: 50 });
      w.start();
      try {
        await until(async () => (await get(id)).state === 'failed', 15_000, 'first failure');
        let j = await get(id);
        assert.equal(j.attempts, 1);
        assert.equal(j.lastError, 'boom 1');
        const delay1 = j.runAt.getTime() - clock.now().getTime();
        assert.ok(delay1 >= 5_000 && delay1 <= 10_000, `first retry within half to all of 10 s: ${delay1}`);
        // Not due yet: the clock has not moved, so it is not claimed again.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(calls, 1);
        clock.advance(10_000);
        await until(async () => (await get(id)).attempts === 2 && (await get(id)).state === 'failed');
        j = await get(id);
        const delay2 = j.runAt.getTime() - clock.now().getTime();
        assert.ok(delay2 >= 10_000 && delay2 <= 20_000, `second retry doubles: ${delay2}`);
        clock.advance(20_000);
        await until(async () => (await get(id)).state === 'dead', 15_000, 'dead');
        j = await get(id);
        assert.equal(j.attempts, 3);
        assert.equal(j.lastError, 'boom 3');
        assert.ok(j.finishedAt);
        assert.equal(calls, 3);
        const r = await retryJobs({ store: t.store, clock }, [id]);
        assert.deepEqual(r.changed, [id]);
        await until(async () => (await get(id)).attempts === 1, 15_000, 'retried');
      } finally {
        await w.stop();
      }
    });

    it('a worker that dies mid-job loses nothing: its lease runs out and another worker runs the job', async () => {
      const kind = 'test.lease';
      const { id } = await enqueue(t.store.db, deps(), kind, { important: true });
      // A "dead" worker: claimed with a 30 s lease, then never heard of again.
      const [claimed] = await jobs.claim(
        t.store.db,
        t.store.dialect,
        kind,
        1,
        clock.now(),
        new Date(clock.now().getTime() + 30_000),
        'gone',
      );
      assert.equal(claimed?.id, id);
      const ran: string[] = [];
      const w = new JobWorkers(deps(), [{ kind, handle: async (j) => void ran.push(j.id) }], { pollMs: 50 });
      w.start();
      try {
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(ran, [], 'not while the lease holds');
        clock.advance(30_001);
        await until(async () => (await get(id)).state === 'succeeded', 15_000, 'taken over');
        assert.deepEqual(ran, [id]);
        assert.equal((await get(id)).attempts, 2);
        // The dead worker's late answer changes nothing: its claim is gone.
        assert.equal(await jobs.succeed(t.store.db, [id], ['gone'], clock.now()), 0);
        assert.equal(await jobs.fail(t.store.db, id, 'gone', clock.now(), 'late', null), false);
      } finally {
        await w.stop();
      }
    });

    it('a lease that runs out on the last attempt makes the job dead instead of running it again', async () => {
      const kind = 'test.lastlease';
      const { id } = await enqueue(t.store.db, deps(), kind, {}, { maxAttempts: 1 });
      await jobs.claim(
        t.store.db,
        t.store.dialect,
        kind,
        1,
        clock.now(),
        new Date(clock.now().getTime() + 1000),
        'gone',
      );
      clock.advance(1001);
      let ran = 0;
      const w = new JobWorkers(deps(), [{ kind, handle: async () => void ran++ }], { pollMs: 50 });
      w.start();
      try {
        await until(async () => (await get(id)).state === 'dead', 15_000, 'dead');
        assert.equal(ran, 0);
        assert.match((await get(id)).lastError ?? '', /stopped before it finished/);
      } finally {
        await w.stop();
      }
    });

    it('concurrency is bounded per kind: a slow kind does not hold up a fast one', async () => {
      let slowRunning = 0;
      let slowMax = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const slow: JobKind = {
        kind: 'test.slow',
        concurrency: 2,
        async handle() {
          slowRunning++;
          slowMax = Math.max(slowMax, slowRunning);
          await gate;
          slowRunning--;
        },
      };
      let fastDone = 0;
      const fast: JobKind = { kind: 'test.fast', concurrency: 2, handle: async () => void fastDone++ };
      await enqueueMany(t.store.db, deps(), [
        ...Array.from({ length: 6 }, () => ({ kind: 'test.slow' })),
        ...Array.from({ length: 20 }, () => ({ kind: 'test.fast' })),
      ]);
      const w = new JobWorkers(deps(), [slow, fast], { pollMs: 50 });
      w.start();
      try {
        await until(async () => fastDone === 20, 15_000, 'fast jobs');
        assert.equal(slowMax, 2, 'at most 2 slow jobs at once');
        assert.equal(w.runningCounts()['test.slow'], 2);
        release();
        await until(
          async () =>
            (
              await t.store.db
                .selectFrom('jobs')
                .select('id')
                .where('kind', '=', 'test.slow')
                .where('state', '=', 'succeeded')
                .execute()
            ).length === 6,
          15_000,
          'slow jobs',
        );
        assert.equal(slowMax, 2);
      } finally {
        release();
        await w.stop();
      }
    });

    it('stop lets running jobs finish within the grace period and gives back the rest', async () => {
      let finished = 0;
      const quick: JobKind = {
        kind: 'test.stop.quick',
        handle: () =>
          new Promise<void>((r) =>
            setTimeout(() => {
              finished++;
              r();
            }, 100),
          ),
      };
      const stuck: JobKind = {
        kind: 'test.stop.stuck',
        handle: (_j, { signal }) =>
          new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      };
      const q = await enqueue(t.store.db, deps(), 'test.stop.quick');
      const s = await enqueue(t.store.db, deps(), 'test.stop.stuck', {}, { maxAttempts: 1 });
      const w = new JobWorkers(deps(), [quick, stuck], { pollMs: 50, shutdownGraceMs: 500 });
      w.start();
      await until(
        async () => (await get(s.id)).state === 'running' && (await get(q.id)).state === 'running',
        15_000,
        'both running',
      );
      await w.stop();
      assert.equal(finished, 1);
      assert.equal((await get(q.id)).state, 'succeeded');
      const given = await get(s.id);
      assert.equal(given.state, 'pending', 'given back, not failed');
      assert.equal(given.attempts, 0, 'the interrupted attempt is not counted');
      assert.ok(given.runAt.getTime() <= clock.now().getTime(), 'due at once for another node');
    });

    it('cancel and retry report per id; list filters by kind and state', async () => {
      const a = await enqueue(t.store.db, deps(), 'test.ops');
      const b = await enqueue(t.store.db, deps(), 'test.ops');
      const missing = '00000000-0000-4000-8000-000000000000';
      const c = await cancelJobs({ store: t.store, clock }, [a.id, a.id, missing]);
      assert.deepEqual(c.changed, [a.id]);
      assert.deepEqual(c.missing, [missing]);
      const c2 = await cancelJobs({ store: t.store, clock }, [a.id]);
      assert.deepEqual(c2.skipped, [{ id: a.id, state: 'cancelled' }]);
      const r = await retryJobs({ store: t.store, clock }, [b.id]);
      assert.deepEqual(r.skipped, [{ id: b.id, state: 'pending' }], 'a pending job has nothing to retry');
      const cancelled = await jobs.list(t.store.db, { kind: 'test.ops', state: 'cancelled', limit: 10 });
      assert.deepEqual(
        cancelled.map((j) => j.id),
        [a.id],
      );
      const counts = await jobs.counts(t.store.db);
      assert.ok(counts.some((x) => x.kind === 'test.ops' && x.state === 'pending' && x.count === 1));
    });
  });
}

describe('backoff', () => {
  it('doubles from the base, caps at the maximum, and jitters between half and all of it', () => {
    const b = { baseMs: 1000, maxMs: 8000 };
    assert.equal(
      backoffMs(b, 1, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(b, 1, () => 0),
      500,
    );
    assert.equal(
      backoffMs(b, 3, () => 1),
      4000,
    );
    assert.equal(
      backoffMs(b, 10, () => 1),
      8000,
    );
    assert.equal(
      backoffMs(b, 10, () => 0),
      4000,
    );
  });
});
