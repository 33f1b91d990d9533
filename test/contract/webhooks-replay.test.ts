/**
 * Webhook replay on every dialect: by ids and by a window (each filter), keyset paging across batch boundaries
 * (ties on created_at included), a transaction and an audit row per batch (an interruption keeps every batch
 * already reported), dry runs change nothing, a replay carries the original's event id and exact body bytes,
 * replays of replays, and the skip reasons (not found, endpoint disabled, endpoint deleted).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { jobs } from '../../src/core/store/repos/jobs.js';
import {
  type DeliveryStatus,
  webhookDeliveries,
  webhookEndpoints,
} from '../../src/core/store/repos/webhooks.js';
import type { Store } from '../../src/core/store/store.js';
import { enqueueDeliveries, WEBHOOK_DELIVER_KIND } from '../../src/core/webhooks/enqueue.js';
import {
  collectReplay,
  type ReplayItem,
  replayDeliveries,
  replayDelivery,
  waitForDeliveries,
} from '../../src/core/webhooks/replay.js';
import { newSigningSecret, sealSecret } from '../../src/core/webhooks/secrets.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const MIN = 60_000;

async function count(store: Store, table: 'webhook_deliveries' | 'jobs' | 'audit_events'): Promise<number> {
  const r = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function replayAudits(store: Store): Promise<number> {
  const r = await store.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('action', '=', 'webhook.replay')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

for (const dialect of dialects()) {
  describe(`webhook replay (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    before(async () => {
      t = await testContainer(dialect);
    });
    after(async () => {
      await t.close();
    });

    const endpoint = async () => {
      const e = await webhookEndpoints.insert(
        t.c.store.db,
        {
          id: randomUUID(),
          organizationId: null,
          url: 'http://127.0.0.1:9/hook',
          description: null,
          events: ['*'],
          headers: {},
          secretBox: sealSecret(t.c.box, newSigningSecret()),
          createdBy: null,
        },
        t.c.clock.now(),
      );
      return e.id;
    };

    /** `n` original deliveries made now (one transaction), with `status` recorded on them. */
    const originals = async (
      endpointId: string,
      n: number,
      o: { type?: string; status?: DeliveryStatus } = {},
    ): Promise<string[]> => {
      const made = await t.c.store.transaction((tx) =>
        enqueueDeliveries(
          tx,
          { ...t.c, maxAttempts: 3 },
          Array.from({ length: n }, (_, i) => ({
            endpointId,
            event: {
              id: randomUUID(),
              type: o.type ?? 'user.created',
              createdAt: t.c.clock.now(),
              // Key order, unicode and spacing: the replay must re-send these bytes, not a re-serialization.
              data: { z: 1, a: 'ünïcødé ✓', n: i },
              organizationId: null,
            },
          })),
        ),
      );
      if (o.status)
        for (const d of made)
          await webhookDeliveries.record(
            t.c.store.db,
            d.deliveryId,
            d.jobId,
            {
              status: o.status,
              attempts: 1,
              responseStatus: o.status === 'succeeded' ? 200 : 500,
              responseBody: null,
              latencyMs: 5,
              lastError: null,
              nextAttemptAt: null,
            },
            t.c.clock.now(),
          );
      return made.map((d) => d.deliveryId);
    };

    const queuedIds = (items: ReplayItem[]) =>
      items.filter((i) => i.outcome === 'queued').map((i) => i.deliveryId!);

    it('by ids: a new delivery and deliver job each, with the same event id, type, organization and body bytes', async () => {
      const ep = await endpoint();
      const ids = await originals(ep, 3, { status: 'failed' });
      t.clock.advance(MIN);
      const audits = await replayAudits(t.c.store);
      const items = await collectReplay(t.c, { ids });
      assert.deepEqual(
        items.map((i) => [i.originalId, i.outcome]),
        ids.map((id) => [id, 'queued']),
      );
      for (const it of items) {
        const orig = (await webhookDeliveries.findById(t.c.store.db, it.originalId))!;
        const copy = (await webhookDeliveries.findById(t.c.store.db, it.deliveryId!))!;
        assert.notEqual(copy.id, orig.id);
        assert.equal(copy.replayOf, orig.id);
        assert.equal(copy.eventId, orig.eventId);
        assert.equal(copy.eventType, orig.eventType);
        assert.equal(copy.organizationId, orig.organizationId);
        assert.equal(copy.endpointId, orig.endpointId);
        assert.ok(Buffer.from(copy.body).equals(Buffer.from(orig.body)), 'identical body bytes');
        assert.equal(copy.eventCreatedAt.getTime(), orig.eventCreatedAt.getTime());
        assert.equal(copy.status, 'pending');
        assert.equal(orig.status, 'failed', 'the original is left as it was');
        const job = (await jobs.findById(t.c.store.db, copy.jobId!))!;
        assert.equal(job.kind, WEBHOOK_DELIVER_KIND);
        assert.deepEqual(job.payload, { delivery_id: copy.id });
        assert.equal(job.maxAttempts, t.c.config.webhookRetrySchedule.length + 1);
      }
      assert.equal(await replayAudits(t.c.store), audits + 1, 'one audit row for the batch');
    });

    it('by ids: unknown and malformed ids are skipped as not_found, duplicates replayed once', async () => {
      const ep = await endpoint();
      const [id] = await originals(ep, 1);
      const unknown = randomUUID();
      const items = await collectReplay(t.c, { ids: [id!, unknown, 'nope', id!.toUpperCase()] });
      assert.deepEqual(
        items.map((i) => [i.originalId, i.outcome, i.reason]),
        [
          [id, 'queued', undefined],
          [unknown, 'skipped', 'not_found'],
          ['nope', 'skipped', 'not_found'],
        ],
      );
      await assert.rejects(replayDelivery(t.c, unknown, {}), { code: 'NOT_FOUND_ERROR' });
      await assert.rejects(collectReplay(t.c, { ids: [] }), { code: 'VALIDATION_ERROR' });
    });

    it('a replay of a replay: same event id and bytes, replay_of the replay', async () => {
      const ep = await endpoint();
      const [id] = await originals(ep, 1);
      const first = await replayDelivery(t.c, id!, {});
      const second = await replayDelivery(t.c, first.deliveryId, {});
      assert.equal(second.replayOf, first.deliveryId);
      const [o, a, b] = await Promise.all(
        [id!, first.deliveryId, second.deliveryId].map((x) => webhookDeliveries.findById(t.c.store.db, x)),
      );
      assert.equal(b!.replayOf, a!.id);
      assert.equal(a!.replayOf, o!.id);
      assert.equal(b!.eventId, o!.eventId);
      assert.equal(b!.body, o!.body);
    });

    it('by window: since/until, status and event filters select exactly the matching deliveries', async () => {
      const ep = await endpoint();
      const other = await endpoint();
      t.clock.advance(MIN);
      const t0 = t.c.clock.now();
      const early = await originals(ep, 2, { status: 'failed' });
      await originals(other, 2, { status: 'failed' });
      t.clock.advance(10 * MIN);
      const t1 = t.c.clock.now();
      const midFailed = await originals(ep, 2, { status: 'failed' });
      const midOk = await originals(ep, 2, { status: 'succeeded' });
      const midOrg = await originals(ep, 1, { type: 'organization.created', status: 'failed' });
      t.clock.advance(10 * MIN);
      const t2 = t.c.clock.now();
      const late = await originals(ep, 1, { status: 'failed' });
      t.clock.advance(MIN);
      const dry = (w: Partial<Parameters<typeof collectReplay>[1]>) =>
        collectReplay(t.c, { webhookId: ep, since: t0, ...w } as Parameters<typeof collectReplay>[1], {
          dryRun: true,
        }).then((items) => items.map((i) => i.originalId).sort());
      const sorted = (...xs: string[][]) => xs.flat().sort();
      assert.deepEqual(await dry({}), sorted(early, midFailed, midOk, midOrg, late), 'only this endpoint');
      assert.deepEqual(
        await dry({ since: t1 }),
        sorted(midFailed, midOk, midOrg, late),
        'since is inclusive',
      );
      assert.deepEqual(
        await dry({ since: t1, until: t2 }),
        sorted(midFailed, midOk, midOrg),
        'until exclusive',
      );
      assert.deepEqual(await dry({ status: 'succeeded' }), sorted(midOk));
      assert.deepEqual(
        await dry({ status: 'failed', eventType: 'user.created' }),
        sorted(early, midFailed, late),
      );
      assert.deepEqual(await dry({ eventType: 'organization.created' }), sorted(midOrg));
      assert.deepEqual(await dry({ since: new Date(t2.getTime() + 1) }), [], 'an empty window');
      // The real run queues the same selection, oldest first.
      const items = await collectReplay(t.c, { webhookId: ep, since: t1, until: t2, status: 'failed' });
      assert.deepEqual(
        items.map((i) => i.originalId),
        [...midFailed, ...midOrg].sort(), // one created_at: the id orders them,
      );
      assert.ok(items.every((i) => i.outcome === 'queued'));
    });

    it('a window needs a known webhook and a valid, ordered range', async () => {
      await assert.rejects(collectReplay(t.c, { webhookId: randomUUID(), since: new Date(0) }), {
        code: 'NOT_FOUND_ERROR',
      });
      const ep = await endpoint();
      await assert.rejects(collectReplay(t.c, { webhookId: ep, since: new Date(Number.NaN) }), {
        code: 'VALIDATION_ERROR',
      });
      await assert.rejects(
        collectReplay(t.c, { webhookId: ep, since: new Date(1000), until: new Date(1000) }),
        { code: 'VALIDATION_ERROR' },
      );
    });

    it('pages by keyset across batches (ties on created_at), one transaction and audit row per batch, never re-selecting its own replays', async () => {
      const ep = await endpoint();
      t.clock.advance(MIN);
      const since = t.c.clock.now();
      // 450 deliveries with one created_at (one transaction): only the id orders them.
      const ids = await originals(ep, 450);
      t.clock.advance(1);
      const audits = await replayAudits(t.c.store);
      const before = await count(t.c.store, 'webhook_deliveries');
      const items = await collectReplay(t.c, { webhookId: ep, since });
      assert.equal(items.length, 450);
      assert.deepEqual(
        items.map((i) => i.originalId),
        [...ids].sort(),
        'each once, in (created_at, id) order',
      );
      assert.ok(items.every((i) => i.outcome === 'queued'));
      assert.equal(new Set(queuedIds(items)).size, 450);
      assert.equal(await count(t.c.store, 'webhook_deliveries'), before + 450);
      assert.equal(
        await replayAudits(t.c.store),
        audits + 3,
        '200 + 200 + 50: three batches, three audit rows',
      );
      // Small batches across several created_at values.
      const ep2 = await endpoint();
      const s2 = t.c.clock.now();
      const all: string[] = [];
      for (let k = 0; k < 5; k++) {
        if (k) t.clock.advance(1);
        all.push(...(await originals(ep2, 4)));
      }
      // These replays are made at the same instant as the last originals (ties with them on created_at): the
      // walk must still replay each original once and none of its own replays.
      const before2 = await count(t.c.store, 'webhook_deliveries');
      const small = await collectReplay(t.c, { webhookId: ep2, since: s2 }, { batchSize: 3 });
      assert.equal(small.length, 20);
      assert.deepEqual(new Set(small.map((i) => i.originalId)), new Set(all));
      assert.equal(await count(t.c.store, 'webhook_deliveries'), before2 + 20);
    });

    it('an interrupted replay keeps every batch it reported and nothing after', async () => {
      const ep = await endpoint();
      t.clock.advance(MIN);
      const since = t.c.clock.now();
      await originals(ep, 10);
      t.clock.advance(1); // the replays sort after the originals (so each page holds 4 originals)
      const before = await count(t.c.store, 'webhook_deliveries');
      const jobsBefore = await count(t.c.store, 'jobs');
      const seen: ReplayItem[] = [];
      for await (const it of replayDeliveries(t.c, { webhookId: ep, since }, { batchSize: 4 })) {
        seen.push(it);
        if (seen.length === 5) break; // stopped in the second batch: it had committed before it was reported
      }
      assert.equal(await count(t.c.store, 'webhook_deliveries'), before + 8, 'two whole batches');
      assert.equal(await count(t.c.store, 'jobs'), jobsBefore + 8);
      for (const it of seen) assert.ok(await webhookDeliveries.findById(t.c.store.db, it.deliveryId!));
      // Re-run with skipReplayed: it resumes, replaying only the two the interrupted run did not reach.
      t.clock.advance(1);
      const rest = await collectReplay(t.c, { webhookId: ep, since, skipReplayed: true }, { batchSize: 4 });
      assert.equal(rest.length, 2);
      assert.ok(rest.every((i) => i.outcome === 'queued'));
      assert.equal(await count(t.c.store, 'webhook_deliveries'), before + 10, 'each original replayed once');
      const replayed = new Set(
        (
          await t.c.store.db
            .selectFrom('webhook_deliveries')
            .select('replay_of')
            .where('endpoint_id', '=', ep)
            .where('replay_of', 'is not', null)
            .execute()
        ).map((r) => r.replay_of),
      );
      assert.equal(replayed.size, 10);
    });

    it('a dry run selects and reports, and changes nothing', async () => {
      const ep = await endpoint();
      t.clock.advance(MIN);
      const since = t.c.clock.now();
      const ids = await originals(ep, 5, { status: 'failed' });
      const counts = async () =>
        Promise.all([
          count(t.c.store, 'webhook_deliveries'),
          count(t.c.store, 'jobs'),
          count(t.c.store, 'audit_events'),
        ]);
      const before = await counts();
      const byWindow = await collectReplay(t.c, { webhookId: ep, since }, { dryRun: true, batchSize: 2 });
      const byIds = await collectReplay(t.c, { ids: [...ids, randomUUID()] }, { dryRun: true });
      assert.deepEqual(
        byWindow.map((i) => i.outcome),
        Array(5).fill('would_queue'),
      );
      assert.deepEqual(
        byIds.map((i) => i.outcome),
        [...Array(5).fill('would_queue'), 'skipped'],
      );
      assert.ok([...byWindow, ...byIds].every((i) => i.deliveryId === undefined));
      assert.deepEqual(await counts(), before);
    });

    it('deliveries of a disabled endpoint are skipped; of a deleted one, not found', async () => {
      const ep = await endpoint();
      t.clock.advance(MIN);
      const since = t.c.clock.now();
      const ids = await originals(ep, 2, { status: 'failed' });
      await webhookEndpoints.update(
        t.c.store.db,
        ep,
        { status: 'disabled', disabledReason: 'manual' },
        since,
      );
      const before = await count(t.c.store, 'webhook_deliveries');
      const items = await collectReplay(t.c, { webhookId: ep, since });
      assert.deepEqual(
        items.map((i) => [i.outcome, i.reason]),
        [
          ['skipped', 'endpoint_disabled'],
          ['skipped', 'endpoint_disabled'],
        ],
      );
      await assert.rejects(replayDelivery(t.c, ids[0]!, {}), { code: 'CONFLICT_ERROR' });
      assert.equal(await count(t.c.store, 'webhook_deliveries'), before, 'nothing queued');
      // Mixed: one batch holding a queueable delivery and a disabled endpoint's.
      const live = await endpoint();
      const [ok] = await originals(live, 1);
      const mixed = await collectReplay(t.c, { ids: [ok!, ids[1]!] });
      assert.deepEqual(
        mixed.map((i) => i.outcome),
        ['queued', 'skipped'],
      );
      // Deleting an endpoint deletes its deliveries (the foreign key cascades): they read as not found.
      await webhookEndpoints.delete(t.c.store.db, ep);
      const gone = await collectReplay(t.c, { ids });
      assert.deepEqual(
        gone.map((i) => i.reason),
        ['not_found', 'not_found'],
      );
      await assert.rejects(collectReplay(t.c, { webhookId: ep, since }), { code: 'NOT_FOUND_ERROR' });
    });

    it('an item the database refuses is an error; the rest of its batch is still queued', async () => {
      const ep = await endpoint();
      const ids = await originals(ep, 3);
      const bad = ids[1]!;
      // A trigger refuses the replay of one delivery: the batch's transaction fails, then each item alone.
      if (dialect === 'sqlite')
        await sql
          .raw(
            `CREATE TRIGGER refuse_replay BEFORE INSERT ON webhook_deliveries WHEN NEW.replay_of = '${bad}' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`,
          )
          .execute(t.c.store.db);
      else {
        await sql
          .raw(
            `CREATE FUNCTION refuse_replay() RETURNS trigger AS $$ BEGIN IF NEW.replay_of = '${bad}' THEN RAISE EXCEPTION 'refused by trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
          )
          .execute(t.c.store.db);
        await sql
          .raw(
            'CREATE TRIGGER refuse_replay BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION refuse_replay()',
          )
          .execute(t.c.store.db);
      }
      try {
        const before = await count(t.c.store, 'webhook_deliveries');
        const jobsBefore = await count(t.c.store, 'jobs');
        const items = await collectReplay(t.c, { ids });
        assert.deepEqual(
          items.map((i) => i.outcome),
          ['queued', 'error', 'queued'],
        );
        assert.match(items[1]!.reason!, /refused by trigger/);
        assert.equal(items[1]!.deliveryId, undefined);
        assert.equal(await count(t.c.store, 'webhook_deliveries'), before + 2);
        assert.equal(await count(t.c.store, 'jobs'), jobsBefore + 2, 'no job without its delivery');
      } finally {
        await sql
          .raw(
            dialect === 'sqlite'
              ? 'DROP TRIGGER refuse_replay'
              : 'DROP TRIGGER refuse_replay ON webhook_deliveries; DROP FUNCTION refuse_replay()',
          )
          .execute(t.c.store.db);
      }
    });

    it('waitForDeliveries reports each delivery finished, or its state at the deadline', async () => {
      const ep = await endpoint();
      const ids = await originals(ep, 1, { status: 'succeeded' });
      const [replay] = queuedIds(await collectReplay(t.c, { ids }));
      const pending = await waitForDeliveries(t.c, [replay!, ids[0]!], { timeoutMs: 50, pollMs: 10 });
      assert.deepEqual(
        pending.map((s) => s.status),
        ['pending', 'succeeded'],
      );
      const d = (await webhookDeliveries.findById(t.c.store.db, replay!))!;
      const done = waitForDeliveries(t.c, [replay!], { timeoutMs: 30_000, pollMs: 20 });
      await webhookDeliveries.record(
        t.c.store.db,
        replay!,
        d.jobId!,
        {
          status: 'failed',
          attempts: 3,
          responseStatus: 500,
          responseBody: null,
          latencyMs: 1,
          lastError: 'HTTP 500',
          nextAttemptAt: null,
        },
        t.c.clock.now(),
      );
      const [state] = await done;
      assert.equal(state!.status, 'failed');
      assert.equal(state!.lastError, 'HTTP 500');
    });
  });
}
