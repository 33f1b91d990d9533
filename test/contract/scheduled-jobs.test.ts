/**
 * Scheduled jobs on every dialect: one lease per job (advisory lock on Postgres, an expiring row on SQLite), a
 * slot runs once however many nodes fire it, a crashed run's lease is released, runs are recorded, and each job
 * does what it says on a fixed clock — in bounded batches.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { cronStatus } from '../../src/core/jobs/cron-status.js';
import { withLease } from '../../src/core/jobs/lease.js';
import { runScheduledJob } from '../../src/core/jobs/run-scheduled.js';
import { findScheduledJob, type ScheduledJob } from '../../src/core/jobs/scheduled.js';
import { listKeys, retireKey } from '../../src/core/keys/keys.js';
import { json } from '../../src/core/store/codec.js';
import { cronRuns } from '../../src/core/store/repos/cron-runs.js';
import { users } from '../../src/core/store/repos/users.js';
import { createStore } from '../../src/core/store/store.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const DAY = 86_400_000;

for (const dialect of dialects()) {
  describe(`scheduled jobs (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    before(async () => {
      t = await testContainer(dialect);
    });
    after(() => t.close());
    const job = (name: string): ScheduledJob => findScheduledJob(name)!;

    it('a job runs in one process at a time: a second run while the lease is held is skipped', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let runs = 0;
      const slow: ScheduledJob = {
        name: 'test.slow',
        description: 'waits',
        scheduleKey: 'cronCleanupJobs',
        async run() {
          runs++;
          await gate;
          return { rows: 7, detail: 'done' };
        },
      };
      // Another "node": its own store and pool.
      const other = { ...t.c, store: createStore(t.db.url, { poolSize: 2 }) };
      try {
        const first = runScheduledJob(t.c, slow, { trigger: 'manual' });
        await new Promise((r) => setTimeout(r, 200));
        const second = await runScheduledJob(other, slow, { trigger: 'manual' });
        assert.equal(second.outcome, 'skipped');
        assert.match(second.detail, /lease is held/);
        release();
        const r = await first;
        assert.equal(r.outcome, 'succeeded');
        assert.equal(r.rows_affected, 7);
        assert.equal(runs, 1);
        // Released: the next run takes it.
        const third = await runScheduledJob(other, slow, { trigger: 'manual' });
        assert.equal(third.outcome, 'succeeded');
      } finally {
        release();
        await other.store.destroy();
      }
    });

    it('a scheduled slot runs once however many nodes fire it', async () => {
      let runs = 0;
      const counted: ScheduledJob = {
        name: 'test.slot',
        description: 'counts',
        scheduleKey: 'cronCleanupJobs',
        async run() {
          runs++;
          await new Promise((r) => setTimeout(r, 20));
          return { rows: 1, detail: 'counted' };
        },
      };
      const nodes = [
        t.c,
        ...Array.from({ length: 4 }, () => ({ ...t.c, store: createStore(t.db.url, { poolSize: 2 }) })),
      ];
      try {
        const slot = new Date(Date.UTC(2030, 0, 1, 3, 0, 0));
        const reports = await Promise.all(
          nodes.map((c) => runScheduledJob(c, counted, { trigger: 'schedule', slot })),
        );
        assert.equal(runs, 1, reports.map((r) => `${r.outcome}: ${r.detail}`).join('; '));
        assert.equal(reports.filter((r) => r.outcome === 'succeeded').length, 1);
        // And once more later (a node whose clock is behind fires it after the others finished): still skipped.
        const late = await runScheduledJob(nodes[1]!, counted, { trigger: 'schedule', slot });
        assert.equal(late.outcome, 'skipped');
        assert.match(late.detail, /already ran/);
        const next = await runScheduledJob(nodes[2]!, counted, {
          trigger: 'schedule',
          slot: new Date(slot.getTime() + 60_000),
        });
        assert.equal(next.outcome, 'succeeded');
        assert.equal(runs, 2);
      } finally {
        await Promise.all(nodes.slice(1).map((n) => n.store.destroy()));
      }
    });

    it("a crashed run's lease is released, and its run record is marked interrupted", async () => {
      const name = 'test.crash';
      if (dialect === 'postgres') {
        // The crashed process: a session holding the advisory lock whose socket dies without a word.
        const client = new pg.Client({ connectionString: t.db.url });
        await client.connect();
        await client.query(`select pg_advisory_lock(hashtext('janua:lease:cron:${name}'))`);
        const blocked = await withLease(t.c, `cron:${name}`, async () => 'ran');
        assert.equal(blocked.ran, false, 'held while the session lives');
        client.on('error', () => {});
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        let got = false;
        for (let i = 0; i < 100 && !got; i++) {
          got = (await withLease(t.c, `cron:${name}`, async () => 'ran')).ran;
          if (!got) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(got, 'the server released the lock of the dead session');
      } else {
        // The crashed process left its lease row behind; it counts until it expires.
        await t.c.store.db
          .insertInto('leases')
          .values({
            name: `cron:${name}`,
            holder: 'dead-node',
            expires_at: new Date(t.clock.now().getTime() + 30_000),
          })
          .execute();
        assert.equal((await withLease(t.c, `cron:${name}`, async () => 'ran')).ran, false);
        t.clock.advance(30_001);
        assert.equal((await withLease(t.c, `cron:${name}`, async () => 'ran')).ran, true);
      }
      // Its run record said "running"; the next run (holding the lease) marks it interrupted.
      await cronRuns.start(t.c.store.db, {
        id: randomUUID(),
        job: name,
        slot: null,
        trigger: 'manual',
        node: 'dead-node',
        startedAt: new Date(t.clock.now().getTime() - 1000),
      });
      const r = await runScheduledJob(
        t.c,
        {
          name,
          description: '',
          scheduleKey: 'cronCleanupJobs',
          run: async () => ({ rows: 0, detail: 'ok' }),
        },
        { trigger: 'manual' },
      );
      assert.equal(r.outcome, 'succeeded');
      const runs = await cronRuns.recent(t.c.store.db, name, 10);
      assert.deepEqual(runs.map((x) => x.outcome).sort(), ['interrupted', 'succeeded']);
    });

    it('a failing job is recorded as failed with its error; cron status shows the latest run', async () => {
      const failing: ScheduledJob = {
        name: 'keys.prune', // a registered name, so cron status lists it
        description: '',
        scheduleKey: 'cronKeysPrune',
        run: async () => {
          throw new Error('disk on fire');
        },
      };
      const r = await runScheduledJob(t.c, failing, { trigger: 'manual' });
      assert.equal(r.outcome, 'failed');
      assert.equal(r.error, 'disk on fire');
      const status = await cronStatus(t.c);
      const prune = status.find((s) => s.job === 'keys.prune')!;
      assert.equal(prune.outcome, 'failed');
      assert.equal(prune.error, 'disk on fire');
      assert.equal(prune.schedule, '27 * * * *');
      assert.ok(prune.next_run && new Date(prune.next_run).getUTCMinutes() === 27);
      assert.ok(status.find((s) => s.job === 'cleanup.audit')!.last_run === null);
    });

    it('keys.rotate rotates only when the key is due and the next key was published a whole JWKS cache lifetime', async () => {
      const rotate = job('keys.rotate');
      const state = async () => {
        const keys = await listKeys(t.c);
        return {
          active: keys.find((k) => k.state === 'active')!,
          next: keys.find((k) => k.state === 'next')!,
        };
      };
      const before = await state();
      let r = await runScheduledJob(t.c, rotate, { trigger: 'manual' });
      assert.equal(r.rows_affected, 0);
      assert.match(r.detail, /not due/);
      t.clock.advance(30 * DAY + 1000);
      // The next key is replaced just now (e.g. an operator retired it): it must be published first.
      await retireKey(t.c, before.next.kid, { actorType: 'cli' });
      const fresh = await state();
      assert.notEqual(fresh.next.kid, before.next.kid);
      r = await runScheduledJob(t.c, rotate, { trigger: 'manual' });
      assert.equal(r.rows_affected, 0, r.detail);
      assert.match(r.detail, /published 0 s ago/);
      t.clock.advance(361_000);
      r = await runScheduledJob(t.c, rotate, { trigger: 'manual' });
      assert.equal(r.outcome, 'succeeded');
      assert.ok(r.rows_affected >= 1, r.detail);
      const after = await state();
      assert.equal(after.active.kid, fresh.next.kid, 'the published next key signs now');
      r = await runScheduledJob(t.c, rotate, { trigger: 'manual' });
      assert.equal(r.rows_affected, 0, 'just rotated: not due again');
    });

    it('cleanup jobs delete exactly what is past its time, in bounded batches', async () => {
      const db = t.c.store.db;
      const now = t.clock.now();
      const ago = (ms: number) => new Date(now.getTime() - ms);
      const userId = randomUUID();
      await users.insert(db, { id: userId, email: `${userId}@example.com`, now });
      const session = (id: string, expires: Date, revoked: Date | null) => ({
        id,
        user_id: userId,
        created_at: ago(30 * DAY),
        last_used_at: ago(DAY),
        expires_at: expires,
        revoked_at: revoked,
        revoke_reason: revoked ? 'test' : null,
        ip: null,
        user_agent: null,
      });
      const live = randomUUID();
      const expired = randomUUID();
      const justExpired = randomUUID();
      const oldRevoked = randomUUID();
      const newRevoked = randomUUID();
      await db
        .insertInto('sessions')
        .values([
          session(live, new Date(now.getTime() + DAY), null),
          session(expired, ago(2 * DAY), null),
          session(justExpired, ago(1000), null),
          session(oldRevoked, new Date(now.getTime() + DAY), ago(8 * DAY)),
          session(newRevoked, new Date(now.getTime() + DAY), ago(DAY)),
        ])
        .execute();
      const token = (sessionId: string, expires: Date) => ({
        id: randomUUID(),
        session_id: sessionId,
        token_hash: randomUUID(),
        created_at: ago(DAY),
        expires_at: expires,
        used_at: null,
      });
      await db
        .insertInto('refresh_tokens')
        .values([
          token(live, new Date(now.getTime() + DAY)),
          token(live, ago(3 * DAY)), // spent long ago in a session that lives on
          token(expired, ago(2 * DAY)),
          token(oldRevoked, new Date(now.getTime() + DAY)),
        ])
        .execute();
      let r = await runScheduledJob(t.c, job('cleanup.sessions'), { trigger: 'manual' });
      // Two sessions (their tokens cascade with them, uncounted) and one long-expired token of a live session.
      assert.equal(r.rows_affected, 3, r.detail);
      const sessionsLeft = (
        await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()
      )
        .map((s) => s.id)
        .sort();
      assert.deepEqual(sessionsLeft, [live, justExpired, newRevoked].sort());
      const tokensLeft = await db.selectFrom('refresh_tokens').select('session_id').execute();
      assert.deepEqual(
        tokensLeft.map((x) => x.session_id),
        [live],
        'tokens of deleted sessions went with them; the long-expired one of a live session too',
      );

      // Sign-in counters: a stale one goes; a recent one and a running lockout stay.
      await db
        .insertInto('sign_in_attempts')
        .values([
          { key: 'stale', failed_count: 2, locked_until: null, updated_at: ago(DAY) },
          { key: 'recent', failed_count: 2, locked_until: null, updated_at: ago(60_000) },
          {
            key: 'locked',
            failed_count: 5,
            locked_until: new Date(now.getTime() + 60_000),
            updated_at: ago(DAY),
          },
        ])
        .execute();
      r = await runScheduledJob(t.c, job('cleanup.attempts'), { trigger: 'manual' });
      assert.equal(r.rows_affected, 1);
      const keys = (await db.selectFrom('sign_in_attempts').select('key').execute()).map((k) => k.key).sort();
      assert.deepEqual(keys, ['locked', 'recent']);

      // Audit retention, over several batches (the batch is 1,000 rows).
      await db.deleteFrom('audit_events').execute();
      const audit = (n: number, when: Date) =>
        Array.from({ length: n }, () => ({
          id: randomUUID(),
          occurred_at: when,
          action: 'test.audit',
          outcome: 'success',
          actor_id: null,
          actor_type: 'system',
          target_type: null,
          target_id: null,
          ip: null,
          user_agent: null,
          request_id: null,
          metadata: json({}),
        }));
      for (let i = 0; i < 5; i++)
        await db
          .insertInto('audit_events')
          .values(audit(500, ago(366 * DAY)))
          .execute();
      await db
        .insertInto('audit_events')
        .values(audit(10, ago(364 * DAY)))
        .execute();
      r = await runScheduledJob(t.c, job('cleanup.audit'), { trigger: 'manual' });
      assert.equal(r.rows_affected, 2500);
      const auditLeft = await db
        .selectFrom('audit_events')
        .select('action')
        .where('action', '=', 'test.audit')
        .execute();
      assert.equal(auditLeft.length, 10);

      // Outbox: only handled events past retention.
      await db.deleteFrom('outbox').execute();
      const event = (handled: Date | null, created: Date) => ({
        id: randomUUID(),
        event_type: 'user.updated',
        aggregate_type: 'user',
        aggregate_id: userId,
        payload: json({}),
        created_at: created,
        handled_at: handled,
      });
      await db
        .insertInto('outbox')
        .values([event(ago(8 * DAY), ago(8 * DAY)), event(ago(DAY), ago(DAY)), event(null, ago(30 * DAY))])
        .execute();
      r = await runScheduledJob(t.c, job('cleanup.outbox'), { trigger: 'manual' });
      assert.equal(r.rows_affected, 1);
      const outboxLeft = await db.selectFrom('outbox').select('handled_at').execute();
      assert.equal(outboxLeft.length, 2);
      assert.ok(
        outboxLeft.some((o) => o.handled_at === null),
        'an unhandled event is never deleted',
      );

      // Jobs: finished ones past retention, dead ones past their longer retention, run records.
      await db.deleteFrom('jobs').execute();
      const jobRow = (state: string, updated: Date) => ({
        id: randomUUID(),
        kind: 'test.cleanup',
        payload: json({}),
        state,
        run_at: updated,
        attempts: 1,
        max_attempts: 1,
        idempotency_key: null,
        claim_id: null,
        last_error: null,
        created_at: updated,
        updated_at: updated,
        finished_at: updated,
      });
      await db
        .insertInto('jobs')
        .values([
          jobRow('succeeded', ago(8 * DAY)),
          jobRow('cancelled', ago(8 * DAY)),
          jobRow('succeeded', ago(DAY)),
          jobRow('dead', ago(8 * DAY)),
          jobRow('dead', ago(31 * DAY)),
          jobRow('pending', ago(60 * DAY)),
        ])
        .execute();
      const runsBefore = (await db.selectFrom('cron_runs').select('id').execute()).length;
      // Eight days on: every run record so far is past the 7-day retention, and so is the job that succeeded a
      // day ago; the dead job of 8 days ago is 16 days old, within the 30 days dead jobs are kept.
      t.clock.advance(8 * DAY);
      r = await runScheduledJob(t.c, job('cleanup.jobs'), { trigger: 'manual' });
      const states = (await db.selectFrom('jobs').select('state').execute()).map((j) => j.state).sort();
      assert.deepEqual(
        states,
        ['dead', 'pending'],
        'kept: a dead job within 30 days, a pending job whatever its age',
      );
      assert.equal(r.rows_affected, 4 + runsBefore);
      assert.equal(
        (await db.selectFrom('cron_runs').select('id').execute()).length,
        1,
        'only this run is left',
      );
    });
  });
}
