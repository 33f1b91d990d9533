/**
 * Webhook subscriptions through the core, on every dialect: create/list/get/update/delete/rotate, the secret
 * sealed at rest and masked on read, rotation's grace fields, organization and platform scoping, validation
 * errors that change nothing, and a test send that makes exactly one delivery and one job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { addMember, createOrganization } from '../../src/core/orgs/service.js';
import { type Actor, CLI_ACTOR } from '../../src/core/rbac/access.js';
import { listDeliveries } from '../../src/core/webhooks/deliveries-query.js';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from '../../src/core/webhooks/endpoints.js';
import { openSecret } from '../../src/core/webhooks/secrets.js';
import { type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { makeUser } from '../helpers/orgs.js';

const HOUR = 3_600_000;

for (const dialect of dialects()) {
  describe(`webhook endpoints (${dialect})`, () => {
    let t: TestApp;
    let orgA: string;
    let orgB: string;
    let ownerA: Actor;
    let adminA: Actor;
    let memberA: Actor;
    let ownerB: Actor;
    const rows = async (table: 'webhook_endpoints' | 'webhook_deliveries' | 'jobs' | 'audit_events') =>
      Number(
        (
          await t.c.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const snapshot = async () => ({
      endpoints: await rows('webhook_endpoints'),
      deliveries: await rows('webhook_deliveries'),
      jobs: await rows('jobs'),
      audit: await rows('audit_events'),
    });

    before(async () => {
      t = await testApp(dialect, { WEBHOOK_SECRET_GRACE_HOURS: '6' });
      const users = await Promise.all(['oa', 'aa', 'ma', 'ob'].map((n) => makeUser(t, n)));
      const [oa, aa, ma, ob] = users.map((u) => ({ id: u.id, isAdmin: false }));
      [ownerA, adminA, memberA, ownerB] = [oa!, aa!, ma!, ob!];
      orgA = (await createOrganization(t.c, ownerA, { name: 'A', slug: `a-${dialect}` }, CLI_CONTEXT))
        .organization.id;
      orgB = (await createOrganization(t.c, ownerB, { name: 'B', slug: `b-${dialect}` }, CLI_CONTEXT))
        .organization.id;
      await addMember(t.c, CLI_ACTOR, orgA, { userId: adminA.id!, role: 'admin' }, CLI_CONTEXT);
      await addMember(t.c, CLI_ACTOR, orgA, { userId: memberA.id!, role: 'member' }, CLI_CONTEXT);
    });
    after(() => t.close());

    it('create answers the secret once, seals it at rest, masks it on every read', async () => {
      const before = await snapshot();
      const made = await createEndpoint(
        t.c,
        adminA,
        {
          url: 'https://hooks.example.com/janua',
          events: ['user.*', 'user.signed_in', 'organization.member_added'],
          description: 'crm sync',
          headers: { Authorization: 'Bearer receiver-token' },
          organizationId: orgA,
        },
        CLI_CONTEXT,
      );
      assert.match(made.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(made.endpoint.events, ['user.*', 'session.created', 'organization.member.added']);
      assert.equal(made.endpoint.secret, `whsec_…${made.secret.slice(-4)}`);
      assert.equal(made.endpoint.is_active, true);
      const row = await t.c.store.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', made.endpoint.id)
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(made.secret.slice(6)), 'the secret text is not in the row');
      assert.equal(openSecret(t.c.box, row.secret_box), made.secret, 'but it opens under the master key');
      const got = await getEndpoint(t.c, ownerA, made.endpoint.id);
      assert.equal(got.secret, made.endpoint.secret);
      assert.ok(!JSON.stringify(got).includes(made.secret.slice(6)));
      const after = await snapshot();
      assert.equal(after.endpoints, before.endpoints + 1);
      assert.equal(after.audit, before.audit + 1, 'one audit row');
    });

    it('validation errors name the problem and change nothing', async () => {
      const before = await snapshot();
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ url: 'ftp://x.example.com/', events: ['*'] }, /http/],
        [{ url: 'https://u:p@x.example.com/', events: ['*'] }, /credentials/],
        [{ url: 'http://127.0.0.1:9/', events: ['*'] }, /private/],
        [{ url: 'http://localhost/', events: ['*'] }, /private/],
        [{ url: 'http://[::1]/', events: ['*'] }, /private/],
        [{ url: 'http://169.254.169.254/latest', events: ['*'] }, /private/],
        [{ url: 'http://10.1.2.3/', events: ['*'] }, /private/],
        [{ url: 'http://[::ffff:192.168.0.1]/', events: ['*'] }, /private/],
        [{ url: 'http://2130706433/', events: ['*'] }, /private/],
        [{ url: `https://x.example.com/${'a'.repeat(2100)}`, events: ['*'] }, /2048/],
        [{ url: 'https://x.example.com/', events: [] }, /at least one/],
        [{ url: 'https://x.example.com/', events: ['user.nope', 'bogus.*'] }, /"user\.nope", "bogus\.\*"/],
        [{ url: 'https://x.example.com/', events: ['*'], description: 'd'.repeat(501) }, /500/],
        [{ url: 'https://x.example.com/', events: ['*'], headers: { Host: 'evil' } }, /Host/],
        [
          { url: 'https://x.example.com/', events: ['*'], headers: { 'Webhook-Signature': 'v1,x' } },
          /set by Janua/,
        ],
        [{ url: 'https://x.example.com/', events: ['*'], headers: { 'X-Webhook-ID': 'x' } }, /set by Janua/],
        [{ url: 'https://x.example.com/', events: ['*'], headers: { Connection: 'close' } }, /set by Janua/],
        [{ url: 'https://x.example.com/', events: ['*'], headers: { 'X-A': 'a\r\nX-B: b' } }, /values/],
        [{ url: 'https://x.example.com/', events: ['*'], headers: { 'Bad Name': 'a' } }, /tokens/],
        [
          {
            url: 'https://x.example.com/',
            events: ['*'],
            headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v'])),
          },
          /20/,
        ],
      ];
      for (const [input, detail] of bad)
        await assert.rejects(
          createEndpoint(
            t.c,
            adminA,
            { ...(input as { url: string; events: string[] }), organizationId: orgA },
            CLI_CONTEXT,
          ),
          (e: Error & { code?: string }) => e.code === 'VALIDATION_ERROR' && detail.test(e.message),
          JSON.stringify(input).slice(0, 80),
        );
      assert.deepEqual(await snapshot(), before);
    });

    it('private targets are allowed when WEBHOOK_ALLOW_PRIVATE_TARGETS=true', async () => {
      const c = { ...t.c, config: { ...t.c.config, webhookAllowPrivateTargets: true } };
      const made = await createEndpoint(
        c,
        CLI_ACTOR,
        { url: 'http://127.0.0.1:9/h', events: ['*'] },
        CLI_CONTEXT,
      );
      assert.equal(made.endpoint.organization_id, null);
      await deleteEndpoint(t.c, CLI_ACTOR, made.endpoint.id, CLI_CONTEXT);
    });

    it('scoping: org managers see their org, members are refused, other orgs and platform endpoints are not found', async () => {
      const a = await createEndpoint(
        t.c,
        ownerA,
        { url: 'https://a.example.com/', events: ['*'], organizationId: orgA },
        CLI_CONTEXT,
      );
      const b = await createEndpoint(
        t.c,
        ownerB,
        { url: 'https://b.example.com/', events: ['*'], organizationId: orgB },
        CLI_CONTEXT,
      );
      const p = await createEndpoint(
        t.c,
        CLI_ACTOR,
        { url: 'https://p.example.com/', events: ['*'] },
        CLI_CONTEXT,
      );
      const ids = (r: { endpoints: Array<{ id: string }> }) => r.endpoints.map((e) => e.id);

      const mineA = await listEndpoints(t.c, adminA, {});
      assert.ok(ids(mineA).includes(a.endpoint.id));
      assert.ok(!ids(mineA).includes(b.endpoint.id) && !ids(mineA).includes(p.endpoint.id));
      assert.equal(mineA.total, mineA.endpoints.length);
      assert.deepEqual(ids(await listEndpoints(t.c, ownerB, {})), [b.endpoint.id]);
      assert.deepEqual(ids(await listEndpoints(t.c, memberA, {})), [], 'a plain member manages none');
      const all = await listEndpoints(t.c, CLI_ACTOR, {});
      for (const e of [a, b, p]) assert.ok(ids(all).includes(e.endpoint.id), 'platform admins see every one');
      assert.deepEqual(
        ids(await listEndpoints(t.c, CLI_ACTOR, { organizationId: null })).includes(p.endpoint.id),
        true,
      );

      const code = (e: Error & { code?: string }) => e.code;
      await assert.rejects(
        getEndpoint(t.c, ownerB, a.endpoint.id),
        (e: Error) => code(e) === 'NOT_FOUND_ERROR',
      );
      await assert.rejects(
        getEndpoint(t.c, ownerA, p.endpoint.id),
        (e: Error) => code(e) === 'NOT_FOUND_ERROR',
      );
      await assert.rejects(
        getEndpoint(t.c, memberA, a.endpoint.id),
        (e: Error) => code(e) === 'AUTHORIZATION_ERROR',
      );
      await assert.rejects(
        updateEndpoint(t.c, ownerB, a.endpoint.id, { url: 'https://stolen.example.com/' }, CLI_CONTEXT),
        (e: Error) => code(e) === 'NOT_FOUND_ERROR',
      );
      await assert.rejects(
        deleteEndpoint(t.c, ownerB, a.endpoint.id, CLI_CONTEXT),
        (e: Error) => code(e) === 'NOT_FOUND_ERROR',
      );
      await assert.rejects(
        listEndpoints(t.c, ownerB, { organizationId: orgA }),
        (e: Error) => code(e) === 'NOT_FOUND_ERROR',
      );
      await assert.rejects(
        listEndpoints(t.c, ownerA, { organizationId: null }),
        (e: Error) => code(e) === 'AUTHORIZATION_ERROR',
      );
      await assert.rejects(
        createEndpoint(t.c, ownerA, { url: 'https://p2.example.com/', events: ['*'] }, CLI_CONTEXT),
        (e: Error) => code(e) === 'AUTHORIZATION_ERROR',
        'platform endpoints are for platform admins',
      );
      await assert.rejects(
        createEndpoint(
          t.c,
          memberA,
          { url: 'https://m.example.com/', events: ['*'], organizationId: orgA },
          CLI_CONTEXT,
        ),
        (e: Error) => code(e) === 'AUTHORIZATION_ERROR',
      );
      assert.equal((await getEndpoint(t.c, ownerA, a.endpoint.id)).url, 'https://a.example.com/');
    });

    it('update: partial, is_active false disables (manual), true re-enables and clears the failure record', async () => {
      const made = await createEndpoint(
        t.c,
        ownerA,
        { url: 'https://u.example.com/', events: ['user.created'], organizationId: orgA, description: 'x' },
        CLI_CONTEXT,
      );
      const id = made.endpoint.id;
      const changed = await updateEndpoint(
        t.c,
        adminA,
        id,
        { events: ['session.*'], description: null },
        CLI_CONTEXT,
      );
      assert.deepEqual(changed.events, ['session.*']);
      assert.equal(changed.description, null);
      assert.equal(changed.url, 'https://u.example.com/');
      const off = await updateEndpoint(t.c, adminA, id, { isActive: false }, CLI_CONTEXT);
      assert.equal(off.is_active, false);
      assert.equal(off.status, 'disabled');
      assert.equal(off.disabled_reason, 'manual');
      const disabledOnly = await listEndpoints(t.c, adminA, { status: 'disabled' });
      assert.deepEqual(
        disabledOnly.endpoints.map((e) => e.id),
        [id],
      );
      assert.equal(disabledOnly.total, 1);
      await t.c.store.db
        .updateTable('webhook_endpoints')
        .set({ failing_since: new Date(), disabled_reason: 'failing' })
        .where('id', '=', id)
        .execute();
      const on = await updateEndpoint(t.c, adminA, id, { isActive: true }, CLI_CONTEXT);
      assert.equal(on.is_active, true);
      assert.equal(on.disabled_reason, null);
      assert.equal(on.disabled_at, null);
      assert.equal(on.failing_since, null);
      const before = await snapshot();
      await assert.rejects(updateEndpoint(t.c, adminA, id, { url: 'http://192.168.1.1/' }, CLI_CONTEXT));
      await assert.rejects(updateEndpoint(t.c, adminA, id, { events: ['nope'] }, CLI_CONTEXT));
      assert.deepEqual(await snapshot(), before);
      assert.equal((await getEndpoint(t.c, adminA, id)).url, 'https://u.example.com/');
    });

    it('rotate: a new secret once; the old one moves to the grace fields for WEBHOOK_SECRET_GRACE_HOURS', async () => {
      const made = await createEndpoint(
        t.c,
        ownerA,
        { url: 'https://r.example.com/', events: ['*'], organizationId: orgA },
        CLI_CONTEXT,
      );
      const now = t.clock.now().getTime();
      const rotated = await rotateSecret(t.c, adminA, made.endpoint.id, CLI_CONTEXT);
      assert.notEqual(rotated.secret, made.secret);
      assert.equal(rotated.endpoint.previous_secret_expires_at, new Date(now + 6 * HOUR).toISOString());
      const row = await t.c.store.db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', made.endpoint.id)
        .executeTakeFirstOrThrow();
      assert.equal(openSecret(t.c.box, row.secret_box), rotated.secret);
      assert.equal(openSecret(t.c.box, row.previous_secret_box!), made.secret);
      for (const s of [made.secret, rotated.secret]) assert.ok(!JSON.stringify(row).includes(s.slice(6)));
      assert.equal(
        (await getEndpoint(t.c, ownerA, made.endpoint.id)).secret,
        `whsec_…${rotated.secret.slice(-4)}`,
      );
      await assert.rejects(rotateSecret(t.c, ownerB, made.endpoint.id, CLI_CONTEXT), /not found/);
    });

    it('test: exactly one webhook.test delivery and one job, to that endpoint only', async () => {
      const made = await createEndpoint(
        t.c,
        ownerA,
        { url: 'https://t.example.com/', events: ['user.created'], organizationId: orgA },
        CLI_CONTEXT,
      );
      const other = await createEndpoint(
        t.c,
        CLI_ACTOR,
        { url: 'https://o.example.com/', events: ['*'] },
        CLI_CONTEXT,
      );
      const before = await snapshot();
      const sent = await sendTestEvent(t.c, adminA, made.endpoint.id, CLI_CONTEXT);
      const after = await snapshot();
      assert.equal(after.deliveries, before.deliveries + 1);
      assert.equal(after.jobs, before.jobs + 1);
      const d = await t.c.store.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', sent.deliveryId)
        .executeTakeFirstOrThrow();
      assert.equal(d.endpoint_id, made.endpoint.id);
      assert.equal(d.event_type, 'webhook.test');
      assert.equal(d.status, 'pending');
      const body = JSON.parse(d.body);
      assert.equal(body.id, sent.eventId);
      assert.equal(body.type, 'webhook.test');
      assert.equal(body.organization_id, orgA);
      const job = await t.c.store.db
        .selectFrom('jobs')
        .selectAll()
        .where('id', '=', d.job_id!)
        .executeTakeFirstOrThrow();
      assert.equal(job.kind, 'webhook.deliver');
      assert.equal(Number(job.max_attempts), t.c.config.webhookRetrySchedule.length + 1);
      const listed = await listDeliveries(t.c, adminA, { endpointId: made.endpoint.id });
      assert.deepEqual(
        listed.deliveries.map((x) => x.id),
        [sent.deliveryId],
      );
      assert.equal((await listDeliveries(t.c, CLI_ACTOR, { endpointId: other.endpoint.id })).total, 0);
      await updateEndpoint(t.c, adminA, made.endpoint.id, { isActive: false }, CLI_CONTEXT);
      await assert.rejects(sendTestEvent(t.c, adminA, made.endpoint.id, CLI_CONTEXT), /disabled/);
    });

    it('delete removes the endpoint with its deliveries and writes an audit row', async () => {
      const made = await createEndpoint(
        t.c,
        ownerA,
        { url: 'https://d.example.com/', events: ['*'], organizationId: orgA },
        CLI_CONTEXT,
      );
      await sendTestEvent(t.c, ownerA, made.endpoint.id, CLI_CONTEXT);
      const audits = await rows('audit_events');
      await deleteEndpoint(t.c, adminA, made.endpoint.id, CLI_CONTEXT);
      await assert.rejects(getEndpoint(t.c, CLI_ACTOR, made.endpoint.id), /not found/);
      const left = await t.c.store.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('endpoint_id', '=', made.endpoint.id)
        .execute();
      assert.equal(left.length, 0);
      assert.equal(await rows('audit_events'), audits + 1);
      const a = await t.c.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('target_id', '=', made.endpoint.id)
        .orderBy('occurred_at')
        .execute();
      assert.deepEqual(
        a.map((r) => r.action),
        ['webhook.endpoint.created', 'webhook.endpoint.tested', 'webhook.endpoint.deleted'],
      );
    });
  });
}
