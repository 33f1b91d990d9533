/** audit() and emit() write in the caller's transaction on every dialect: a rollback leaves no trace. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { audit, emit } from '../../src/core/events/events.js';
import { toJson } from '../../src/core/store/codec.js';
import { users } from '../../src/core/store/repos/users.js';
import { dialects } from '../helpers/db.js';
import { at, type TestStore, testStore } from '../helpers/store.js';

for (const dialect of dialects()) {
  describe(`audit and outbox (${dialect})`, () => {
    let t: TestStore;
    before(async () => {
      t = await testStore(dialect);
    });
    after(() => t.close());

    async function countFor(id: string) {
      const u = await t.store.db.selectFrom('users').select('id').where('id', '=', id).execute();
      const a = await t.store.db.selectFrom('audit_events').selectAll().where('target_id', '=', id).execute();
      const o = await t.store.db.selectFrom('outbox').selectAll().where('aggregate_id', '=', id).execute();
      return { users: u.length, audit: a, outbox: o };
    }

    it('a committed transaction writes the change, its audit row and its outbox event', async () => {
      const id = randomUUID();
      await t.store.transaction(async (tx) => {
        await users.insert(tx, { id, email: `${id}@example.com`, now: at(0) });
        await audit(
          tx,
          { actorId: id, ip: '198.51.100.1', userAgent: 'x'.repeat(600), requestId: 'req-1' },
          { action: 'user.signup', targetType: 'user', targetId: id, metadata: { via: 'test', n: [1, 2] } },
          at(0),
        );
        await emit(tx, 'user.created', { type: 'user', id }, { user_id: id, nested: { ok: true } }, at(0));
      });
      const c = await countFor(id);
      assert.equal(c.users, 1);
      assert.equal(c.audit.length, 1);
      const a = c.audit[0]!;
      assert.equal(a.action, 'user.signup');
      assert.equal(a.outcome, 'success');
      assert.equal(a.actor_type, 'user', 'an actor id without a type is a user');
      assert.equal(a.ip, '198.51.100.1');
      assert.equal(a.user_agent?.length, 512, 'user agent is capped');
      assert.equal(a.request_id, 'req-1');
      assert.deepEqual(toJson(a.metadata), { via: 'test', n: [1, 2] });
      assert.equal(c.outbox.length, 1);
      const o = c.outbox[0]!;
      assert.equal(o.event_type, 'user.created');
      assert.equal(o.aggregate_type, 'user');
      assert.deepEqual(toJson(o.payload), { user_id: id, nested: { ok: true } });
      assert.ok(Number(o.seq) > 0);
    });

    it('a rolled-back transaction leaves neither the change nor its audit or outbox rows', async () => {
      const id = randomUUID();
      await assert.rejects(
        t.store.transaction(async (tx) => {
          await users.insert(tx, { id, email: `${id}@example.com`, now: at(0) });
          await audit(
            tx,
            { actorType: 'system' },
            { action: 'user.create', targetType: 'user', targetId: id },
            at(0),
          );
          await emit(tx, 'user.created', { type: 'user', id }, { user_id: id }, at(0));
          throw new Error('boom after writing');
        }),
        /boom after writing/,
      );
      const c = await countFor(id);
      assert.deepEqual([c.users, c.audit.length, c.outbox.length], [0, 0, 0]);
    });

    it('a failing statement inside the transaction rolls back the audit and outbox rows written before it', async () => {
      const id = randomUUID();
      const taken = `${randomUUID()}@example.com`;
      await users.insert(t.store.db, { id: randomUUID(), email: taken, now: at(0) });
      await assert.rejects(
        t.store.transaction(async (tx) => {
          await audit(
            tx,
            { actorType: 'system' },
            { action: 'user.create', targetType: 'user', targetId: id },
            at(0),
          );
          await emit(tx, 'user.created', { type: 'user', id }, { user_id: id }, at(0));
          await users.insert(tx, { id, email: taken, now: at(0) }); // unique violation
        }),
        /unique|duplicate/i,
      );
      const c = await countFor(id);
      assert.deepEqual([c.users, c.audit.length, c.outbox.length], [0, 0, 0]);
    });

    it('outbox sequence numbers grow in commit order', async () => {
      const id = randomUUID();
      for (const type of ['user.created', 'user.updated', 'user.deleted'] as const) {
        await t.store.transaction((tx) => emit(tx, type, { type: 'user', id }, {}, at(0)));
      }
      const rows = await t.store.db
        .selectFrom('outbox')
        .select(['seq', 'event_type'])
        .where('aggregate_id', '=', id)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        rows.map((r) => r.event_type),
        ['user.created', 'user.updated', 'user.deleted'],
      );
    });
  });
}
