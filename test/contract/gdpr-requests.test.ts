/**
 * Erasure requests and their grace period, on every dialect, under a fixed clock: a request waits
 * GDPR_ERASURE_GRACE_DAYS, the user can cancel it, `gdpr.erase-due` executes it once due; a second request is
 * refused by the database; bad input (unknown user, another user's account, no confirmation, a sole owner)
 * is answered with the documented error and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLI_CONTEXT, type RequestContext, SYSTEM_CONTEXT } from '../../src/core/events/events.js';
import {
  cancelErasure,
  executeRequestNow,
  listErasureRequests,
  requestErasure,
} from '../../src/core/gdpr/erasure-requests.js';
import { pseudonymOf } from '../../src/core/gdpr/subject.js';
import { runScheduledJob } from '../../src/core/jobs/run-scheduled.js';
import { findScheduledJob } from '../../src/core/jobs/scheduled.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { type Person, seedPerson } from '../helpers/gdpr.js';

const DAY = 86_400_000;

for (const dialect of dialects()) {
  describe(`GDPR erasure requests (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    let owner: Person & { orgId: string };
    let ann: Person;
    let ben: Person;
    const as = (p: Person): RequestContext => ({ actorId: p.id, actorType: 'user', ip: p.ip });
    const users = async () =>
      (await t.c.store.db.selectFrom('users').select('id').execute()).map((u) => u.id);
    const runDue = () => runScheduledJob(t.c, findScheduledJob('gdpr.erase-due')!, { trigger: 'manual' });

    before(async () => {
      t = await testContainer(dialect, { GDPR_ERASURE_GRACE_DAYS: '30' });
      owner = await seedPerson(t.c, { first: 'Oskar', last: 'Owner', ip: '198.51.100.8' });
      const org = { id: owner.id, orgId: owner.orgId };
      ann = await seedPerson(t.c, { first: 'Ann', last: 'Arbor', ip: '203.0.113.5', orgOwner: org });
      ben = await seedPerson(t.c, { first: 'Ben', last: 'Bloom', ip: '203.0.113.6', orgOwner: org });
    });
    after(async () => t?.close());

    it('refuses bad requests with the documented errors and writes nothing', async () => {
      const count = async () =>
        (await t.c.store.db.selectFrom('gdpr_requests').select('id').execute()).length;
      const before = await count();
      await assert.rejects(requestErasure(t.c, 'nobody@example.com', {}, CLI_CONTEXT), {
        code: 'NOT_FOUND_ERROR',
      });
      await assert.rejects(requestErasure(t.c, ben.id, { password: GOOD_PASSWORD }, as(ann)), {
        code: 'AUTHORIZATION_ERROR',
      });
      await assert.rejects(requestErasure(t.c, ann.id, {}, as(ann)), { code: 'VALIDATION_ERROR' });
      await assert.rejects(requestErasure(t.c, ann.id, { password: 'Not-the-password-1' }, as(ann)), {
        code: 'VALIDATION_ERROR',
      });
      await assert.rejects(
        requestErasure(t.c, ann.id, { password: GOOD_PASSWORD, immediate: true }, as(ann)),
        {
          code: 'AUTHORIZATION_ERROR',
        },
      );
      await assert.rejects(requestErasure(t.c, owner.id, {}, CLI_CONTEXT), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CONFLICT_ERROR');
        assert.match(e.message, /only owner/);
        return true;
      });
      await assert.rejects(cancelErasure(t.c, ann.id, as(ann)), { code: 'NOT_FOUND_ERROR' });
      assert.equal(await count(), before);
    });

    it('waits out the grace period; the user can cancel; a second request is refused', async () => {
      const start = t.clock.now();
      const r = await requestErasure(t.c, ann.id, { password: GOOD_PASSWORD, reason: 'leaving' }, as(ann));
      assert.equal(r.request.status, 'pending');
      assert.equal(r.request.due_at, new Date(start.getTime() + 30 * DAY).toISOString());
      await assert.rejects(requestErasure(t.c, ann.id, {}, CLI_CONTEXT), { code: 'CONFLICT_ERROR' });
      const report = await runDue();
      assert.equal(report.outcome, 'succeeded');
      assert.equal(report.rows_affected, 0);
      assert.ok((await users()).includes(ann.id));
      const cancelled = await cancelErasure(t.c, ann.id, as(ann));
      assert.equal(cancelled.status, 'cancelled');
      t.clock.advance(31 * DAY);
      assert.equal((await runDue()).rows_affected, 0, 'a cancelled request never runs');
      assert.ok((await users()).includes(ann.id));
    });

    it('gdpr.erase-due executes due requests under the fixed clock, and only those', async () => {
      const a = await requestErasure(t.c, ann.id, { password: GOOD_PASSWORD }, as(ann));
      const b = await requestErasure(t.c, ben.id, {}, CLI_CONTEXT);
      t.clock.advance(10 * DAY);
      const late = await requestErasure(t.c, owner.id, {}, CLI_CONTEXT).catch((e) => e);
      assert.equal(late.code, 'CONFLICT_ERROR', 'the sole owner still cannot');
      t.clock.advance(20 * DAY - 60_000);
      assert.equal((await runDue()).rows_affected, 0, 'a minute early');
      t.clock.advance(60_000);
      const report = await runDue();
      assert.equal(report.rows_affected, 2);
      assert.ok(!(await users()).includes(ann.id) && !(await users()).includes(ben.id));
      const done = await listErasureRequests(t.c, { status: 'completed' }, CLI_CONTEXT);
      const annP = await pseudonymOf(t.c, ann.id);
      assert.ok(done.some((d) => d.id === a.request.id && d.user_id === annP && d.reason === null));
      assert.ok(done.some((d) => d.id === b.request.id));
      const receipts = await t.c.store.db.selectFrom('deletion_receipts').selectAll().execute();
      assert.equal(receipts.length, 2);
      for (const rc of receipts) assert.equal(rc.executed_by_type, 'system');
      assert.equal((await runDue()).rows_affected, 0, 'nothing left');
    });

    it('an admin executes a pending request at once; a blocked one stays pending with the reason', async () => {
      const p = await seedPerson(t.c, { first: 'Cara', last: 'Cole', ip: '203.0.113.9' });
      // Cara owns her organization alone: a request filed before that is blocked at execution.
      await t.c.store.db.deleteFrom('organization_members').where('user_id', '=', p.id).execute();
      const r = await requestErasure(t.c, p.id, {}, CLI_CONTEXT);
      await t.c.store.db
        .insertInto('organization_members')
        .values({
          organization_id: p.orgId,
          user_id: p.id,
          role: 'owner',
          joined_at: t.clock.now(),
          invited_by: null,
        })
        .execute();
      t.clock.advance(31 * DAY);
      const report = await runDue();
      assert.match(report.detail ?? '', /1 blocked/);
      const [pending] = await listErasureRequests(t.c, { user: p.id, status: 'pending' }, CLI_CONTEXT);
      assert.match(pending?.last_error ?? '', /only owner/);
      await assert.rejects(executeRequestNow(t.c, r.request.id, as(owner)), { code: 'AUTHORIZATION_ERROR' });
      await t.c.store.db.deleteFrom('organizations').where('id', '=', p.orgId).execute();
      const now = await executeRequestNow(t.c, r.request.id, {
        ...SYSTEM_CONTEXT,
        actorType: 'admin',
        actorId: owner.id,
      });
      assert.equal(now.request.status, 'completed');
      assert.ok(now.receipt);
      await assert.rejects(executeRequestNow(t.c, r.request.id, CLI_CONTEXT), { code: 'CONFLICT_ERROR' });
    });
  });
}
