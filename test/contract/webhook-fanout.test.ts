/**
 * Webhook fan-out on every dialect: each committed event becomes one delivery per matching active endpoint, in
 * the drain's transaction (pattern matching: exact, `prefix.*` at any depth, `*`; platform endpoints see every
 * event, an organization's only its own; disabled endpoints nothing). Also the pure parts: retry schedule
 * parsing and the SSRF address classification.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { emit } from '../../src/core/events/events.js';
import { OutboxDrain } from '../../src/core/jobs/outbox-drain.js';
import { jobs } from '../../src/core/store/repos/jobs.js';
import { webhookDeliveries, webhookEndpoints } from '../../src/core/store/repos/webhooks.js';
import { matchesPattern, organizationOf, webhookFanout } from '../../src/core/webhooks/fanout.js';
import { blockedReason } from '../../src/core/webhooks/outbound.js';
import { parseRetrySchedule } from '../../src/core/webhooks/schedule.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { deliveriesOf, makeEndpoint, makeOrg } from '../helpers/webhooks.js';

describe('webhook patterns, schedule and target addresses', () => {
  it('matches exact types, prefix.* at any depth, and *', () => {
    assert.ok(matchesPattern('*', 'user.created'));
    assert.ok(matchesPattern('user.created', 'user.created'));
    assert.ok(!matchesPattern('user.created', 'user.updated'));
    assert.ok(matchesPattern('user.*', 'user.created'));
    assert.ok(matchesPattern('organization.*', 'organization.member.added'));
    assert.ok(matchesPattern('organization.member.*', 'organization.member.added'));
    assert.ok(!matchesPattern('user.*', 'userx.created'));
    assert.ok(!matchesPattern('user.*', 'user'));
    assert.ok(!matchesPattern('organization.member.*', 'organization.created'));
  });

  it('an event belongs to its organization aggregate, else payload.organization_id, else none', () => {
    assert.equal(organizationOf({ aggregate: { type: 'organization', id: 'o1' }, payload: {} }), 'o1');
    assert.equal(
      organizationOf({ aggregate: { type: 'invitation', id: 'i' }, payload: { organization_id: 'o2' } }),
      'o2',
    );
    assert.equal(organizationOf({ aggregate: { type: 'user', id: 'u' }, payload: {} }), null);
  });

  it('parses the retry schedule and refuses what is not a duration', () => {
    assert.deepEqual(
      parseRetrySchedule(['500ms', '5s', '5m', '2h', '1d']),
      [500, 5_000, 300_000, 7_200_000, 86_400_000],
    );
    assert.deepEqual(parseRetrySchedule([]), []);
    for (const bad of ['5', '5 sec', '-5s', '1w', '', '400d'])
      assert.throws(() => parseRetrySchedule(['5s', bad]), /WEBHOOK_RETRY_SCHEDULE/, bad);
  });

  it('classifies target addresses: private, loopback, link-local, metadata, mapped IPv6 refused; public allowed', () => {
    const refused = [
      '127.0.0.1',
      '127.8.9.10',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a00:1',
    ];
    for (const a of refused) assert.ok(blockedReason(a), `${a} must be refused`);
    assert.match(blockedReason('169.254.169.254') ?? '', /metadata/);
    assert.match(blockedReason('::ffff:127.0.0.1') ?? '', /loopback/);
    for (const a of [
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
    ])
      assert.equal(blockedReason(a), undefined, `${a} is public`);
  });
});

for (const dialect of dialects()) {
  describe(`webhook fan-out (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    before(async () => {
      t = await testContainer(dialect, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    });
    after(() => t.close());

    it('an endpoint gets no event from before it was created, even when the drain reaches the event later', async () => {
      const { c } = t;
      const url = 'http://127.0.0.1:9/';
      const drain = new OutboxDrain({ ...c, logger: pino({ level: 'silent' }) }, [webhookFanout(c)]);
      while ((await drain.drainOnce()) > 0);
      const earlier = new Date(c.clock.now().getTime() - 60_000);
      const user = randomUUID();
      await c.store.transaction((tx) =>
        emit(tx, 'user.created', { type: 'user', id: user }, { user_id: user }, earlier),
      );
      const late = (await makeEndpoint(c, { url, events: ['*'] })).ep;
      assert.equal(await drain.drainOnce(), 1);
      assert.deepEqual(await deliveriesOf(c, late.id), []);
      await c.store.transaction((tx) =>
        emit(tx, 'user.updated', { type: 'user', id: user }, { user_id: user }, c.clock.now()),
      );
      assert.equal(await drain.drainOnce(), 1);
      assert.deepEqual(
        (await deliveriesOf(c, late.id)).map((d) => d.eventType),
        ['user.updated'],
      );
    });

    it('fans out to matching active endpoints with organization scoping, in the drain transaction', async () => {
      const { c } = t;
      const orgA = await makeOrg(c, 'a');
      const orgB = await makeOrg(c, 'b');
      const url = 'http://127.0.0.1:9/';
      const all = (await makeEndpoint(c, { url, events: ['*'] })).ep;
      const users = (await makeEndpoint(c, { url, events: ['user.*'] })).ep;
      const exact = (await makeEndpoint(c, { url, events: ['organization.member.added'] })).ep;
      const aAll = (await makeEndpoint(c, { url, events: ['*'], organizationId: orgA })).ep;
      const bOrg = (await makeEndpoint(c, { url, events: ['organization.*'], organizationId: orgB })).ep;
      const off = (await makeEndpoint(c, { url, events: ['*'] })).ep;
      await webhookEndpoints.update(
        c.store.db,
        off.id,
        { status: 'disabled', disabledReason: 'manual' },
        c.clock.now(),
      );

      const now = c.clock.now();
      const user = randomUUID();
      await c.store.transaction(async (tx) => {
        await emit(tx, 'user.created', { type: 'user', id: user }, { user_id: user }, now);
        await emit(
          tx,
          'organization.member.added',
          { type: 'organization', id: orgA },
          { user_id: user },
          now,
        );
        await emit(
          tx,
          'organization.invitation.created',
          { type: 'invitation', id: randomUUID() },
          { organization_id: orgB },
          now,
        );
      });
      // A change that rolled back wrote no event: nothing fans out for it.
      await assert.rejects(
        c.store.transaction(async (tx) => {
          await emit(tx, 'user.deleted', { type: 'user', id: user }, {}, now);
          throw new Error('rolled back');
        }),
      );
      const drain = new OutboxDrain({ ...c, logger: pino({ level: 'silent' }) }, [webhookFanout(c)]);
      assert.equal(await drain.drainOnce(), 3);
      assert.equal(await drain.drainOnce(), 0);

      const types = async (id: string) => (await deliveriesOf(c, id)).map((d) => d.eventType).sort();
      assert.deepEqual(await types(all.id), [
        'organization.invitation.created',
        'organization.member.added',
        'user.created',
      ]);
      assert.deepEqual(await types(users.id), ['user.created']);
      assert.deepEqual(await types(exact.id), ['organization.member.added']);
      assert.deepEqual(await types(aAll.id), ['organization.member.added']);
      assert.deepEqual(await types(bOrg.id), ['organization.invitation.created']);
      assert.deepEqual(await types(off.id), []);

      // Each delivery: pending, the event's body, its own job with the schedule's attempts (7 delays + 1).
      const [d] = await deliveriesOf(c, users.id);
      assert.ok(d);
      assert.equal(d.status, 'pending');
      const body = JSON.parse(d.body);
      assert.equal(body.type, 'user.created');
      assert.equal(body.id, d.eventId);
      assert.deepEqual(body.data, { user_id: user });
      assert.equal(body.organization_id, undefined);
      const [m] = await deliveriesOf(c, aAll.id);
      assert.equal(JSON.parse(m!.body).organization_id, orgA);
      const job = await jobs.findById(c.store.db, d.jobId!);
      assert.equal(job?.kind, 'webhook.deliver');
      assert.equal(job?.maxAttempts, 8);
      // The same event's deliveries share its id (receivers dedupe on it).
      const ids = new Set(
        (await webhookDeliveries.list(c.store.db, { eventType: 'user.created', limit: 10 })).map(
          (x) => x.eventId,
        ),
      );
      assert.equal(ids.size, 1);
    });
  });
}
