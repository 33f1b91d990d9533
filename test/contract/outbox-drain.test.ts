/**
 * The outbox drain on every dialect: every committed event reaches its consumers once and is marked handled in
 * the same transaction, two drains (two nodes) never hand one event out twice, and a consumer that fails holds
 * back only its own event.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import { emit, emitMany } from '../../src/core/events/events.js';
import { type EventConsumer, OutboxDrain } from '../../src/core/jobs/outbox-drain.js';
import { enqueue } from '../../src/core/jobs/queue.js';
import { outbox } from '../../src/core/store/repos/outbox.js';
import { createStore, type Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { at, type TestStore, testStore } from '../helpers/store.js';
import { until } from '../helpers/until.js';

const logger = pino({ level: 'silent' });

for (const dialect of dialects()) {
  describe(`outbox drain (${dialect})`, () => {
    let t: TestStore;
    const clock = new FixedClock(at(0));
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    async function emitN(n: number, type: 'user.updated' | 'user.created' = 'user.updated'): Promise<void> {
      await t.store.transaction((tx) =>
        emitMany(
          tx,
          Array.from({ length: n }, (_, i) => ({
            type,
            aggregate: { type: 'user', id: randomUUID() },
            payload: { i },
          })),
          at(0),
        ),
      );
    }

    it('two drains on two connections hand every event to the consumer exactly once, and mark it', async () => {
      await emitN(300);
      const seen: number[] = [];
      const consumer: EventConsumer = {
        name: 'collect',
        types: '*',
        async handle(_tx, e) {
          seen.push(e.seq);
        },
      };
      const other: Store = createStore(t.db.url, { poolSize: 3 });
      const drains = [t.store, other].map(
        (store) => new OutboxDrain({ store, clock, logger }, [consumer], { batchSize: 25, pollMs: 30 }),
      );
      try {
        for (const d of drains) d.start();
        await until(async () => (await outbox.unhandledCount(t.store.db)) === 0, 20_000, 'drained');
      } finally {
        await Promise.all(drains.map((d) => d.stop()));
        await other.destroy();
      }
      assert.equal(seen.length, 300);
      assert.equal(new Set(seen).size, 300, 'no event handled twice');
    });

    it("a consumer's writes commit with the handled mark; a failure rolls both back and holds back only its event", async () => {
      await t.store.db
        .updateTable('outbox')
        .set({ handled_at: at(0) })
        .where('handled_at', 'is', null)
        .execute();
      const poisonId = randomUUID();
      await emitN(3, 'user.created');
      await t.store.transaction((tx) =>
        emit(tx, 'user.created', { type: 'user', id: poisonId }, { poison: true }, at(0)),
      );
      await emitN(2, 'user.created');
      const fanOut: EventConsumer = {
        name: 'webhook-like',
        types: ['user.created'],
        async handle(tx, e) {
          // What a webhook consumer does: a delivery job per event, in the draining transaction.
          await enqueue(
            tx,
            { store: t.store, clock },
            'test.delivery',
            { event: e.id },
            { idempotencyKey: e.id },
          );
          if (e.payload['poison']) throw new Error('cannot handle this one');
        },
      };
      const drain = new OutboxDrain({ store: t.store, clock, logger }, [fanOut], { batchSize: 50 });
      const handled = await drain.drainOnce();
      assert.equal(handled, 5, 'the five good events, one by one after the batch failed');
      const left = await t.store.db
        .selectFrom('outbox')
        .select(['aggregate_id'])
        .where('handled_at', 'is', null)
        .execute();
      assert.deepEqual(
        left.map((l) => l.aggregate_id),
        [poisonId],
      );
      const deliveries = await t.store.db
        .selectFrom('jobs')
        .select('payload')
        .where('kind', '=', 'test.delivery')
        .execute();
      assert.equal(deliveries.length, 5, "the poison event's job rolled back with it");
      await drain.stop();
    });
  });
}
