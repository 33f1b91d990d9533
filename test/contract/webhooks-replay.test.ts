/**
 * Webhook replay on every dialect: by ids and by window (each filter, paging across pages), dry run changing
 * nothing, the same event id and identical body bytes on a new delivery with its own job, replays of replays,
 * disabled and unknown targets reported and skipped, the window never selecting the run's own replays.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { jobs } from '../../src/core/store/repos/jobs.js';
import { webhookDeliveries, webhookEndpoints } from '../../src/core/store/repos/webhooks.js';
import { enqueueDeliveries, WEBHOOK_DELIVER_KIND } from '../../src/core/webhooks/enqueue.js';
import { type ReplayItem, replayDeliveries, waitForDeliveries } from '../../src/core/webhooks/replay.js';
import { newSigningSecret, sealSecret } from '../../src/core/webhooks/secrets.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const MINUTE = 60_000;

async function collect(it: AsyncIterable<ReplayItem>): Promise<ReplayItem[]> {
  const out: ReplayItem[] = [];
  for await (const i of it) out.push(i);
  return out;
}

for (const dialect of dialects()) {
  describe(`webhook replay (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    before(async () => {
      t = await testContainer(dialect);
    });
    after(() => t.close());

    async function endpoint(): Promise<string> {
      const id = randomUUID();
      await webhookEndpoints.insert(
        t.c.store.db,
        {
          id,
          organizationId: null,
          url: 'https://hooks.example.com/in',
          description: null,
          events: ['*'],
          headers: {},
          secretBox: sealSecret(t.c.box, newSigningSecret()),
          createdBy: null,
        },
        t.clock.now(),
      );
      return id;
    }

    /** n original deliveries to `endpointId`, one clock minute apart; returns their ids oldest first. */
    async function originals(endpointId: string, n: number, type = 'user.created'): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        t.clock.advance(MINUTE);
        const [made] = await t.c.store.transaction((tx) =>
          enqueueDeliveries(tx, { ...t.c, maxAttempts: 8 }, [
            {
              endpointId,
              event: {
                id: randomUUID(),
                type,
                createdAt: t.clock.now(),
                data: { user_id: randomUUID(), n: i, text: 'ünïcödé ✓' },
                organizationId: null,
              },
            },
          ]),
        );
        ids.push(made!.deliveryId);
      }
      return ids;
    }

    async function fail(id: string) {
      const d = (await webhookDeliveries.findById(t.c.store.db, id))!;
      await webhookDeliveries.record(
        t.c.store.db,
        id,
        d.jobId!,
        {
          status: 'failed',
          attempts: 8,
          responseStatus: 500,
          responseBody: 'no',
          latencyMs: 3,
          lastError: 'HTTP 500',
          nextAttemptAt: null,
        },
        t.clock.now(),
      );
    }

    it('by ids: a new delivery of the same event with identical bytes and its own job; unknown ids reported', async () => {
      const ep = await endpoint();
      const [a, b] = await originals(ep, 2);
      const missing = randomUUID();
      t.clock.advance(MINUTE);
      const items = await collect(replayDeliveries(t.c, { ids: [a!, b!, missing, a!] }, CLI_CONTEXT));
      assert.deepEqual(
        items.map((i) => [i.originalId, i.outcome]),
        [
          [a, 'queued'],
          [b, 'queued'],
          [missing, 'not_found'],
        ],
        'one item per distinct id, in the order given',
      );
      for (const item of items.filter((i) => i.outcome === 'queued')) {
        const orig = (await webhookDeliveries.findById(t.c.store.db, item.originalId))!;
        const replay = (await webhookDeliveries.findById(t.c.store.db, item.deliveryId!))!;
        assert.notEqual(replay.id, orig.id);
        assert.equal(replay.replayOf, orig.id);
        assert.equal(replay.eventId, orig.eventId, 'the same event id, so receivers dedupe');
        assert.equal(replay.eventType, orig.eventType);
        assert.equal(replay.body, orig.body, 'the same bytes');
        assert.equal(replay.status, 'pending');
        assert.equal(replay.attempts, 0);
        const job = (await jobs.findById(t.c.store.db, replay.jobId!))!;
        assert.equal(job.kind, WEBHOOK_DELIVER_KIND);
        assert.deepEqual(job.payload, { delivery_id: replay.id });
        assert.equal(job.maxAttempts, t.c.config.webhookRetrySchedule.length + 1);
      }
      // A replay of a replay is a delivery like any other: same event, same bytes.
      const first = items[0]!.deliveryId!;
      const [again] = await collect(replayDeliveries(t.c, { ids: [first] }, CLI_CONTEXT));
      const twice = (await webhookDeliveries.findById(t.c.store.db, again!.deliveryId!))!;
      assert.equal(twice.replayOf, first);
      assert.equal(twice.body, (await webhookDeliveries.findById(t.c.store.db, a!))!.body);
      const audit = await t.c.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'webhook.deliveries.replayed')
        .execute();
      assert.ok(audit.length >= 2, 'each replaying page is audited');
    });

    it('by window: since/until, status and event type filters, across several pages; never its own replays', async () => {
      const ep = await endpoint();
      const other = await endpoint();
      const start = new Date(t.clock.now().getTime() + MINUTE / 2);
      const ids = await originals(ep, 7);
      const signins = await originals(ep, 2, 'session.created');
      await originals(other, 3);
      for (const id of [ids[1]!, ids[3]!, ids[5]!]) await fail(id);
      t.clock.advance(MINUTE);
      const before = await webhookDeliveries.count(t.c.store.db, { endpointId: ep });

      const all = await collect(
        replayDeliveries(t.c, { webhookId: ep, since: start }, CLI_CONTEXT, { batchSize: 2 }),
      );
      assert.deepEqual(
        all.map((i) => i.originalId),
        [...ids, ...signins],
        'oldest first, every page, only this endpoint, and none of the replays it made',
      );
      assert.equal(await webhookDeliveries.count(t.c.store.db, { endpointId: ep }), before + 9);

      t.clock.advance(MINUTE);
      const failed = await collect(
        replayDeliveries(t.c, { webhookId: ep, since: start, status: 'failed' }, CLI_CONTEXT, {
          batchSize: 2,
        }),
      );
      assert.deepEqual(
        failed.map((i) => i.originalId),
        [ids[1], ids[3], ids[5]],
      );
      const sessions = await collect(
        replayDeliveries(t.c, { webhookId: ep, since: start, eventType: 'session.created' }, CLI_CONTEXT),
      );
      // The window's end is the run's start: the earlier runs' replays of the session events are in it too.
      assert.ok(sessions.every((i) => i.eventType === 'session.created'));
      assert.ok(sessions.length >= 2);

      const third = (await webhookDeliveries.findById(t.c.store.db, ids[2]!))!;
      const bounded = await collect(
        replayDeliveries(
          t.c,
          { webhookId: ep, since: start, until: new Date(third.createdAt.getTime() + 1) },
          CLI_CONTEXT,
        ),
      );
      assert.deepEqual(
        bounded.map((i) => i.originalId),
        ids.slice(0, 3),
      );
    });

    it('dry run selects and reports, and writes nothing', async () => {
      const ep = await endpoint();
      const start = t.clock.now();
      await originals(ep, 3);
      t.clock.advance(MINUTE);
      const count = async () => ({
        deliveries: await webhookDeliveries.count(t.c.store.db, {}),
        jobs: (
          await t.c.store.db
            .selectFrom('jobs')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      });
      const was = await count();
      const items = await collect(
        replayDeliveries(t.c, { webhookId: ep, since: start }, CLI_CONTEXT, { dryRun: true }),
      );
      assert.deepEqual(
        items.map((i) => i.outcome),
        ['would_queue', 'would_queue', 'would_queue'],
      );
      assert.ok(items.every((i) => i.deliveryId === undefined));
      assert.deepEqual(await count(), was);
    });

    it('a disabled endpoint is skipped with the reason; an unknown endpoint or empty window is refused', async () => {
      const ep = await endpoint();
      const [id] = await originals(ep, 1);
      await webhookEndpoints.update(
        t.c.store.db,
        ep,
        { status: 'disabled', disabledReason: 'failing', disabledAt: t.clock.now() },
        t.clock.now(),
      );
      const [item] = await collect(replayDeliveries(t.c, { ids: [id!] }, CLI_CONTEXT));
      assert.equal(item!.outcome, 'skipped');
      assert.match(item!.reason!, /disabled \(failing\)/);
      await assert.rejects(
        collect(replayDeliveries(t.c, { webhookId: randomUUID(), since: new Date(0) }, CLI_CONTEXT)),
        (e: { code?: string }) => e.code === 'NOT_FOUND_ERROR',
      );
      await assert.rejects(
        collect(
          replayDeliveries(
            t.c,
            { webhookId: ep, since: new Date(t.clock.now().getTime() + MINUTE) },
            CLI_CONTEXT,
          ),
        ),
        (e: { code?: string }) => e.code === 'VALIDATION_ERROR',
      );
      await assert.rejects(
        collect(replayDeliveries(t.c, { ids: [] }, CLI_CONTEXT)),
        (e: { code?: string }) => e.code === 'VALIDATION_ERROR',
      );
    });

    it('waitForDeliveries reports each delivery as it stands at the deadline', async () => {
      const ep = await endpoint();
      const [a, b] = await originals(ep, 2);
      await fail(a!);
      const states = await waitForDeliveries(t.c, [a!, b!, randomUUID()], 300, 50);
      assert.deepEqual(
        states.map((s) => s.status),
        ['failed', 'pending', 'gone'],
      );
      assert.equal(states[0]!.responseStatus, 500);
    });
  });
}
