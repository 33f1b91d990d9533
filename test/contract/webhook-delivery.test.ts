/**
 * Webhook deliveries on every dialect, to a real receiver on 127.0.0.1 verifying both signature schemes with
 * code written from the specs (test/e2e/webhook-receiver.ts): what is sent and recorded; the retry schedule
 * under a fixed clock (attempt times follow it exactly, then failed); secret rotation overlap; auto-disable
 * after the window (audit, event, open deliveries given up); redirects not followed; the answer capped and the
 * connection dropped; a hanging endpoint does not stall a healthy one; SSRF refusal (a hostname resolving to
 * 127.0.0.1 included) and the flag that allows it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Container } from '../../src/core/container.js';
import { emit } from '../../src/core/events/events.js';
import { jobs } from '../../src/core/store/repos/jobs.js';
import { type WebhookDelivery, webhookEndpoints } from '../../src/core/store/repos/webhooks.js';
import { USER_AGENT } from '../../src/core/webhooks/post.js';
import { newSigningSecret, sealSecret } from '../../src/core/webhooks/secrets.js';
import { type Receiver, startReceiver } from '../e2e/webhook-receiver.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { sample } from '../helpers/metrics.js';
import { until } from '../helpers/until.js';
import { deliveriesOf, makeEndpoint, startDelivery } from '../helpers/webhooks.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function emitUserEvent(
  c: Container,
  type: 'user.updated' | 'user.created' = 'user.updated',
): Promise<string> {
  const id = randomUUID();
  await c.store.transaction((tx) => emit(tx, type, { type: 'user', id }, { user_id: id }, c.clock.now()));
  return id;
}

async function only(c: Container, endpointId: string): Promise<WebhookDelivery> {
  const ds = await deliveriesOf(c, endpointId);
  assert.equal(ds.length, 1);
  return ds[0]!;
}

/** Waits until the delivery's job has recorded attempt `n` and is no longer running. */
async function attemptSettled(c: Container, d: WebhookDelivery, n: number): Promise<void> {
  await until(
    async () => {
      const j = await jobs.findById(c.store.db, d.jobId!);
      return j !== undefined && j.attempts === n && j.state !== 'running';
    },
    15_000,
    `attempt ${n} of delivery ${d.id} recorded`,
  );
}

async function clearEndpoints(c: Container): Promise<void> {
  await c.store.db.deleteFrom('webhook_endpoints').execute();
}

for (const dialect of dialects()) {
  describe(`webhook delivery (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    let rec: Receiver;
    let c: Container;
    const at = (path: string) => rec.received.filter((r) => r.path === path);
    before(async () => {
      t = await testContainer(dialect, {
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOK_RETRY_SCHEDULE: '1h,1d,1d,1d',
        WEBHOOK_DISABLE_AFTER_DAYS: '1',
        WEBHOOK_MAX_RESPONSE_BYTES: '4096',
        WEBHOOK_CONCURRENCY: '4',
        WEBHOOK_CONCURRENCY_PER_ENDPOINT: '1',
        WEBHOOK_TIMEOUT_SECONDS: '60',
      });
      c = t.c;
      rec = await startReceiver({ now: () => t.clock.now().getTime() });
    });
    after(async () => {
      await rec.close();
      await t.close();
    });

    it('sends the event signed in both schemes with its headers, and records the success', async () => {
      const { ep, secret } = await makeEndpoint(c, {
        url: `${rec.origin}/ok`,
        events: ['user.*'],
        headers: { 'X-Tenant': 'acme' },
      });
      rec.secrets = [secret];
      const run = startDelivery(c);
      try {
        const userId = await emitUserEvent(c, 'user.created');
        await until(async () => (await only(c, ep.id).catch(() => undefined))?.status === 'succeeded');
        const [r] = at('/ok');
        assert.ok(r);
        assert.equal(r.method, 'POST');
        assert.ok(r.standard.ok, 'Standard Webhooks signature verifies');
        assert.equal(r.standard.signatures, 1);
        assert.ok(r.original.ok, 'X-Webhook-Signature verifies');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.headers['user-agent'], USER_AGENT);
        assert.match(USER_AGENT, /^Janua-Webhooks\/\d+\.\d+\.\d+/);
        assert.equal(r.headers['x-tenant'], 'acme');
        assert.equal(r.headers['x-webhook-event'], 'user.created');
        const body = JSON.parse(r.body);
        assert.equal(r.headers['webhook-id'], body.id);
        assert.equal(r.headers['x-webhook-id'], body.id);
        assert.equal(r.headers['webhook-timestamp'], r.headers['x-webhook-timestamp']);
        assert.deepEqual(Object.keys(body).sort(), ['created_at', 'data', 'id', 'type']);
        assert.deepEqual(body.data, { user_id: userId });
        const d = await only(c, ep.id);
        assert.equal(d.body, r.body, 'the stored body is the exact bytes sent');
        assert.equal(d.eventId, body.id);
        assert.equal(d.attempts, 1);
        assert.equal(d.responseStatus, 200);
        assert.equal(d.responseBody, 'ok');
        assert.equal(d.lastError, null);
        assert.equal(d.nextAttemptAt, null);
        assert.ok(d.latencyMs !== null && d.latencyMs >= 0);
        assert.ok(d.deliveredAt);
        const metrics = await c.metrics.render();
        assert.ok((sample(metrics, 'janua_webhook_deliveries_total{outcome="succeeded"}') ?? 0) >= 1);
        assert.ok((sample(metrics, 'janua_webhook_delivery_duration_seconds_count') ?? 0) >= 1);
      } finally {
        await run.stop();
        await clearEndpoints(c);
      }
    });

    it('signs with both secrets during the rotation grace, with the new one only after it', async () => {
      const { ep, secret: old } = await makeEndpoint(c, { url: `${rec.origin}/rotated` });
      const fresh = newSigningSecret();
      await webhookEndpoints.update(
        c.store.db,
        ep.id,
        {
          secretBox: sealSecret(c.box, fresh),
          previousSecretBox: sealSecret(c.box, old),
          previousSecretExpiresAt: new Date(t.clock.now().getTime() + HOUR),
        },
        t.clock.now(),
      );
      rec.secrets = [old, fresh];
      const run = startDelivery(c);
      try {
        await emitUserEvent(c);
        await until(async () => at('/rotated').length === 1);
        const during = at('/rotated')[0]!;
        assert.equal(during.standard.signatures, 2);
        assert.deepEqual(during.standard.matched.sort(), [old, fresh].sort());
        assert.ok(during.standard.timestampOk);
        assert.deepEqual(during.original.matched, [fresh], 'the original scheme carries the current secret');

        t.clock.advance(HOUR + 1000);
        await emitUserEvent(c);
        await until(async () => at('/rotated').length === 2);
        const afterGrace = at('/rotated')[1]!;
        assert.equal(afterGrace.standard.signatures, 1);
        assert.deepEqual(afterGrace.standard.matched, [fresh]);
        assert.ok(afterGrace.standard.ok);
        assert.deepEqual(afterGrace.original.matched, [fresh]);
      } finally {
        await run.stop();
        await clearEndpoints(c);
      }
    });

    it('does not follow a redirect: a 3xx is a failed attempt, retried on the schedule', async () => {
      rec.behave('redirect', '/moved');
      const { ep } = await makeEndpoint(c, { url: `${rec.origin}/moved` });
      const run = startDelivery(c);
      try {
        await emitUserEvent(c);
        await until(async () => (await only(c, ep.id).catch(() => undefined))?.status === 'retrying');
        const d = await only(c, ep.id);
        assert.equal(d.responseStatus, 302);
        assert.match(d.lastError ?? '', /302.*redirects are not followed/);
        assert.equal(d.nextAttemptAt?.getTime(), t.clock.now().getTime() + HOUR);
        assert.equal(at('/redirected').length, 0);
        assert.equal(at('/moved').length, 1);
      } finally {
        await run.stop();
        await clearEndpoints(c);
      }
    });

    it('reads an answer only up to WEBHOOK_MAX_RESPONSE_BYTES, keeps its first KiB, and drops the connection', async () => {
      rec.behave('endless', '/endless');
      const { ep } = await makeEndpoint(c, { url: `${rec.origin}/endless` });
      const run = startDelivery(c);
      try {
        await emitUserEvent(c);
        await until(async () => (await only(c, ep.id).catch(() => undefined))?.status === 'succeeded');
        const d = await only(c, ep.id);
        assert.equal(d.responseStatus, 200);
        assert.equal(d.responseBody, 'a'.repeat(1024));
        await until(
          async () => rec.endlessWritten.length === 1,
          15_000,
          'the receiver sees the connection close',
        );
        assert.ok(
          rec.endlessWritten[0]! < 64 * 1024 * 1024,
          `wrote ${rec.endlessWritten[0]} bytes before the drop`,
        );
      } finally {
        await run.stop();
        await clearEndpoints(c);
      }
    });

    it('a hanging endpoint takes at most its own slots: a healthy endpoint gets every delivery meanwhile', async () => {
      const slow = await startReceiver();
      slow.behave('hang');
      const hanging = (await makeEndpoint(c, { url: `${slow.origin}/hang` })).ep;
      const healthy = (await makeEndpoint(c, { url: `${rec.origin}/healthy` })).ep;
      const run = startDelivery(c);
      try {
        for (let i = 0; i < 12; i++) await emitUserEvent(c);
        // Jobs beyond an endpoint's bound may be deferred a moment (DeferJob): the fixed clock moves on for them.
        await until(
          async () => {
            t.clock.advance(300);
            return (await deliveriesOf(c, healthy.id)).filter((d) => d.status === 'succeeded').length === 12;
          },
          20_000,
          'the healthy endpoint receives all 12 while the other hangs',
        );
        assert.equal(at('/healthy').length, 12);
        // WEBHOOK_CONCURRENCY_PER_ENDPOINT=1: one request in flight to the hanging endpoint, never more.
        assert.equal(slow.hanging(), 1);
        assert.equal(slow.received.length, 1);
        assert.ok((await deliveriesOf(c, hanging.id)).every((d) => d.status === 'pending'));
        // Jobs beyond its bound were deferred with their attempt uncounted: none has spent more than one.
        const spent = [];
        for (const d of await deliveriesOf(c, hanging.id))
          spent.push((await jobs.findById(c.store.db, d.jobId!))!.attempts);
        assert.ok(
          spent.every((n) => n <= 1),
          `job attempts: ${spent.join(',')}`,
        );
      } finally {
        await slow.close();
        await run.stop();
        await clearEndpoints(c);
      }
    });

    it('a success clears failing_since; failing for WEBHOOK_DISABLE_AFTER_DAYS disables the endpoint, with audit and event', async () => {
      const t0 = t.clock.now().getTime();
      rec.behave('fail', '/broken');
      const broken = (await makeEndpoint(c, { url: `${rec.origin}/broken`, events: ['*'] })).ep;
      rec.behave('fail', '/flaky');
      const flaky = (await makeEndpoint(c, { url: `${rec.origin}/flaky`, events: ['user.created'] })).ep;
      const watcher = (await makeEndpoint(c, { url: `${rec.origin}/watch`, events: ['webhook.*'] })).ep;
      const run = startDelivery(c);
      try {
        await emitUserEvent(c, 'user.updated');
        await emitUserEvent(c, 'user.created');
        const open = async () => (await deliveriesOf(c, broken.id)).filter((d) => d.status === 'retrying');
        await until(
          async () =>
            (await open()).length === 2 && (await deliveriesOf(c, flaky.id))[0]?.status === 'retrying',
        );
        for (const d of await open()) await attemptSettled(c, d, 1);
        await attemptSettled(c, (await deliveriesOf(c, flaky.id))[0]!, 1);
        assert.equal((await webhookEndpoints.findById(c.store.db, broken.id))?.failingSince?.getTime(), t0);
        assert.equal((await webhookEndpoints.findById(c.store.db, flaky.id))?.failingSince?.getTime(), t0);

        // An hour on: the flaky endpoint answers again (failing_since cleared); the broken one still fails.
        rec.behave('ok', '/flaky');
        t.clock.advance(HOUR);
        await until(async () => (await deliveriesOf(c, flaky.id))[0]?.status === 'succeeded');
        await until(
          async () => (await webhookEndpoints.findById(c.store.db, flaky.id))?.failingSince === null,
        );
        for (const d of await open()) await attemptSettled(c, d, 2);
        assert.equal((await webhookEndpoints.findById(c.store.db, broken.id))?.status, 'active');

        // A day after its first failure, its next failed attempt disables it.
        t.clock.advance(DAY);
        await until(
          async () => (await webhookEndpoints.findById(c.store.db, broken.id))?.status === 'disabled',
        );
        const ep = (await webhookEndpoints.findById(c.store.db, broken.id))!;
        assert.equal(ep.disabledReason, 'failing');
        assert.equal(ep.disabledAt?.getTime(), t.clock.now().getTime());
        await until(async () => (await deliveriesOf(c, broken.id)).every((d) => d.status === 'failed'));
        assert.ok((await deliveriesOf(c, broken.id)).every((d) => /disabled/.test(d.lastError ?? '')));
        const audit = await c.store.db
          .selectFrom('audit_events')
          .selectAll()
          .where('action', '=', 'webhook.endpoint.disabled')
          .where('target_id', '=', broken.id)
          .execute();
        assert.equal(audit.length, 1);
        // The event reaches the watching platform endpoint, not the disabled one.
        await until(async () => at('/watch').length === 1);
        const event = JSON.parse(at('/watch')[0]!.body);
        assert.equal(event.type, 'webhook.endpoint.disabled');
        assert.equal(event.data.endpoint_id, broken.id);
        assert.equal(event.data.organization_id, null);
        assert.equal(event.data.reason, 'failing');
        assert.ok(
          (await deliveriesOf(c, broken.id)).every((d) => d.eventType !== 'webhook.endpoint.disabled'),
        );
        assert.equal((await deliveriesOf(c, watcher.id)).length, 1);
      } finally {
        await run.stop();
        await clearEndpoints(c);
      }
    });
  });

  describe(`webhook retry schedule under a fixed clock (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    let rec: Receiver;
    before(async () => {
      t = await testContainer(dialect, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
      rec = await startReceiver({ now: () => t.clock.now().getTime() });
      rec.behave('fail');
    });
    after(async () => {
      await rec.close();
      await t.close();
    });

    it('attempts at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h exactly, then fails', async () => {
      const { c } = t;
      const schedule = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
      const { ep } = await makeEndpoint(c, { url: `${rec.origin}/down` });
      const run = startDelivery(c);
      try {
        await emitUserEvent(c);
        await until(async () => (await deliveriesOf(c, ep.id)).length === 1);
        for (let i = 0; i <= schedule.length; i++) {
          const d0 = await only(c, ep.id);
          await attemptSettled(c, d0, i + 1);
          const d = await only(c, ep.id);
          const job = (await jobs.findById(c.store.db, d.jobId!))!;
          assert.equal(d.attempts, i + 1);
          assert.equal(d.responseStatus, 500);
          assert.equal(d.lastError, 'answered 500');
          if (i < schedule.length) {
            assert.equal(d.status, 'retrying');
            const next = t.clock.now().getTime() + schedule[i]!;
            assert.equal(d.nextAttemptAt?.getTime(), next);
            assert.equal(job.runAt.getTime(), next, 'the queue retries when the delivery says');
            t.clock.set(new Date(next));
          } else {
            assert.equal(d.status, 'failed');
            assert.equal(d.nextAttemptAt, null);
            assert.equal(job.state, 'dead');
          }
        }
        const times = rec.received.map((r) => r.at);
        assert.equal(times.length, 8);
        assert.deepEqual(
          times.slice(1).map((x, i) => x - times[i]!),
          schedule,
        );
        // All eight carried the same event id and body (receivers dedupe on it).
        assert.equal(new Set(rec.received.map((r) => r.headers['webhook-id'])).size, 1);
        assert.equal(new Set(rec.received.map((r) => r.body)).size, 1);
      } finally {
        await run.stop();
      }
    });
  });

  describe(`webhook outbound safety (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    let rec: Receiver;
    before(async () => {
      t = await testContainer(dialect, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' });
      rec = await startReceiver();
    });
    after(async () => {
      await rec.close();
      await t.close();
    });

    it('refuses to connect to loopback — a hostname resolving to 127.0.0.1 included — as a failed attempt', async () => {
      const { c } = t;
      const urls = [
        `http://localhost:${rec.port}/by-name`,
        `http://127.0.0.1:${rec.port}/by-ip`,
        `http://[::1]:${rec.port}/by-ipv6`,
        `http://[::ffff:127.0.0.1]:${rec.port}/by-mapped`,
      ];
      const eps = [];
      for (const url of urls) eps.push((await makeEndpoint(c, { url })).ep);
      const run = startDelivery(c);
      try {
        await emitUserEvent(c);
        for (const ep of eps) {
          await until(async () => (await deliveriesOf(c, ep.id))[0]?.status === 'retrying');
          const d = (await deliveriesOf(c, ep.id))[0]!;
          assert.match(
            d.lastError ?? '',
            /refused to connect to .*loopback.*WEBHOOK_ALLOW_PRIVATE_TARGETS/,
            ep.url,
          );
          assert.equal(d.responseStatus, null);
        }
        assert.match(
          (await deliveriesOf(c, eps[0]!.id))[0]!.lastError ?? '',
          /localhost \((127\.0\.0\.1|::1)\)/,
        );
        assert.equal(rec.received.length, 0, 'nothing reached the receiver');
      } finally {
        await run.stop();
      }
    });

    it('WEBHOOK_ALLOW_PRIVATE_TARGETS=true lets the same hostname through', async () => {
      const allowed = await testContainer(dialect, { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
      const { ep } = await makeEndpoint(allowed.c, { url: `http://localhost:${rec.port}/allowed` });
      const run = startDelivery(allowed.c);
      try {
        await emitUserEvent(allowed.c);
        await until(async () => (await deliveriesOf(allowed.c, ep.id))[0]?.status === 'succeeded');
        assert.equal(rec.received.filter((r) => r.path === '/allowed').length, 1);
      } finally {
        await run.stop();
        await allowed.close();
      }
    });
  });
}
