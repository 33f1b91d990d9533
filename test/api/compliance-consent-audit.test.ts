/**
 * Consent endpoints and audit-log access in process (app.inject over a real database), on every dialect:
 * a user records, reads and withdraws their own consents; an admin reads and records for another user; a
 * user naming someone else → 403; bad input → the documented 422/400 bodies with nothing written; the
 * audit-log `user_id` filter (actor or target); the NDJSON export (content type, one event per line, oldest
 * first across batches, filters, since ≥ until → 422, non-admin → 403).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { streamAuditEvents } from '../../src/core/admin/audit-log.js';
import { audit } from '../../src/core/events/events.js';
import { createUser } from '../../src/core/users/service.js';
import { GOOD_PASSWORD, type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

async function call(t: TestApp, opts: InjectOptions & { token?: string | undefined }) {
  const { token, ...rest } = opts;
  const res = await t.app.inject({
    ...rest,
    headers: { ...(rest.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  // NDJSON bodies are not one JSON document: those tests read `raw`.
  const ndjson = String(res.headers['content-type'] ?? '').startsWith('application/x-ndjson');
  return {
    status: res.statusCode,
    headers: res.headers,
    body: res.body && !ndjson ? res.json() : undefined,
    raw: res.body,
  };
}

async function signIn(t: TestApp, email: string): Promise<string> {
  const r = await call(t, {
    method: 'POST',
    url: '/api/v1/auth/signin',
    payload: { email, password: GOOD_PASSWORD },
  });
  assert.equal(r.status, 200, r.raw);
  return r.body.access_token as string;
}

async function consentRows(t: TestApp): Promise<number> {
  const r = await t.c.store.db
    .selectFrom('consent_records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

for (const dialect of dialects()) {
  describe(`compliance consent and audit-log access (${dialect})`, () => {
    let t: TestApp;
    let adminToken: string;
    let aliceToken: string;
    let aliceId: string;
    let bobId: string;

    before(async () => {
      t = await testApp(dialect);
      const ctx = { actorType: 'cli' as const };
      await createUser(t.c, { email: 'admin@example.com', password: GOOD_PASSWORD, isAdmin: true }, ctx);
      aliceId = (await createUser(t.c, { email: 'alice@example.com', password: GOOD_PASSWORD }, ctx)).id;
      bobId = (await createUser(t.c, { email: 'bob@example.com', password: GOOD_PASSWORD }, ctx)).id;
      adminToken = await signIn(t, 'admin@example.com');
      aliceToken = await signIn(t, 'alice@example.com');
    });
    after(async () => t.close());

    test('a user records, reads and withdraws their own consent (both withdraw paths)', async () => {
      const rec = await call(t, {
        method: 'POST',
        url: '/api/v1/compliance/consent',
        token: aliceToken,
        headers: { 'user-agent': 'consent-api-test' },
        payload: { purpose: 'marketing.email', version: '2026-12', legal_basis: 'consent' },
      });
      assert.equal(rec.status, 201, rec.raw);
      assert.equal(rec.body.granted, true);
      assert.equal(rec.body.source, 'api');
      assert.equal(rec.body.user_agent, 'consent-api-test');
      const rec2 = await call(t, {
        method: 'POST',
        url: '/api/v1/compliance/consent',
        token: aliceToken,
        payload: { purpose: 'analytics' },
      });
      assert.equal(rec2.status, 201, rec2.raw);

      const w = await call(t, {
        method: 'POST',
        url: '/api/v1/compliance/consent/withdraw',
        token: aliceToken,
        payload: { purpose: 'marketing.email' },
      });
      assert.equal(w.status, 200, w.raw);
      assert.equal(w.body.granted, false);
      assert.equal(w.body.changed, true);
      const d = await call(t, {
        method: 'DELETE',
        url: '/api/v1/compliance/consent/analytics',
        token: aliceToken,
      });
      assert.equal(d.status, 200, d.raw);
      assert.equal(d.body.changed, true);
      const d2 = await call(t, {
        method: 'DELETE',
        url: '/api/v1/compliance/consent/analytics',
        token: aliceToken,
      });
      assert.equal(d2.body.changed, false);
      const missing = await call(t, {
        method: 'DELETE',
        url: '/api/v1/compliance/consent/never.given',
        token: aliceToken,
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error_code, 'NOT_FOUND_ERROR');

      const g = await call(t, { method: 'GET', url: '/api/v1/compliance/consent', token: aliceToken });
      assert.equal(g.status, 200, g.raw);
      assert.equal(g.body.user_id, aliceId);
      assert.deepEqual(
        g.body.consents.map((c: { purpose: string; granted: boolean }) => [c.purpose, c.granted]),
        [
          ['analytics', false],
          ['marketing.email', false],
        ],
      );
      assert.equal(g.body.history.length, 4);
      assert.deepEqual(
        g.body.history.map((h: { granted: boolean }) => h.granted),
        [true, true, false, false],
      );
      const anon = await call(t, { method: 'GET', url: '/api/v1/compliance/consent' });
      assert.equal(anon.status, 401);
    });

    test('an admin reads and records for another user; a user naming someone else gets 403', async () => {
      const before = await consentRows(t);
      const other = await call(t, {
        method: 'POST',
        url: `/api/v1/compliance/consent?user_id=${bobId}`,
        token: aliceToken,
        payload: { purpose: 'terms' },
      });
      assert.equal(other.status, 403);
      assert.equal(other.body.error_code, 'AUTHORIZATION_ERROR');
      const read = await call(t, {
        method: 'GET',
        url: `/api/v1/compliance/consent?user_id=${bobId}`,
        token: aliceToken,
      });
      assert.equal(read.status, 403);
      const wd = await call(t, {
        method: 'DELETE',
        url: `/api/v1/compliance/consent/terms?user_id=${bobId}`,
        token: aliceToken,
      });
      assert.equal(wd.status, 403);
      assert.equal(await consentRows(t), before);

      const byAdmin = await call(t, {
        method: 'POST',
        url: '/api/v1/compliance/consent?user_id=bob@example.com',
        token: adminToken,
        payload: { purpose: 'terms', version: 'v3', legal_basis: 'contract' },
      });
      assert.equal(byAdmin.status, 201, byAdmin.raw);
      assert.equal(byAdmin.body.source, 'admin');
      const list = await call(t, {
        method: 'GET',
        url: `/api/v1/compliance/consent?user_id=${bobId}`,
        token: adminToken,
      });
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.consents, [
        {
          purpose: 'terms',
          granted: true,
          legal_basis: 'contract',
          version: 'v3',
          source: 'admin',
          recorded_at: byAdmin.body.recorded_at,
        },
      ]);
      const unknown = await call(t, {
        method: 'GET',
        url: '/api/v1/compliance/consent?user_id=nobody@example.com',
        token: adminToken,
      });
      assert.equal(unknown.status, 404);
    });

    test('bad input: documented 422 and 400 bodies, nothing written', async () => {
      const before = await consentRows(t);
      for (const [payload, field] of [
        [{ purpose: 'Not Valid' }, 'purpose'],
        [{ purpose: 'ok', legal_basis: 'whim' }, 'legal_basis'],
        [{ purpose: 'ok', version: 'x'.repeat(65) }, 'version'],
        [{ purpose: 'ok', source: 'admin' }, 'source'],
      ] as const) {
        const r = await call(t, {
          method: 'POST',
          url: '/api/v1/compliance/consent',
          token: aliceToken,
          payload,
        });
        assert.equal(r.status, 422, `${JSON.stringify(payload)}: ${r.raw}`);
        assert.equal(r.body.error_code, 'VALIDATION_ERROR');
        assert.equal(r.body.status_code, 422);
        assert.match(r.body.detail, new RegExp(field));
      }
      const missing = await call(t, {
        method: 'POST',
        url: '/api/v1/compliance/consent',
        token: aliceToken,
        payload: {},
      });
      assert.equal(missing.status, 422, missing.raw);
      assert.equal(missing.body.error_code, 'VALIDATION_ERROR');
      const broken = await call(t, {
        method: 'POST',
        url: '/api/v1/compliance/consent',
        token: aliceToken,
        headers: { 'content-type': 'application/json' },
        payload: '{"purpose":',
      });
      assert.equal(broken.status, 400, broken.raw);
      assert.equal(broken.body.error_code, 'BAD_REQUEST');
      assert.equal(await consentRows(t), before);
    });

    test('audit-logs: user_id matches the actor or the target', async () => {
      const r = await call(t, {
        method: 'GET',
        url: `/api/v1/audit-logs?user_id=${bobId}&per_page=100`,
        token: adminToken,
      });
      assert.equal(r.status, 200, r.raw);
      assert.ok(r.body.total > 0);
      for (const e of r.body.items)
        assert.ok(e.actor_id === bobId || e.target_id === bobId, JSON.stringify(e));
      assert.ok(
        r.body.items.some(
          (e: { action: string; target_id: string | null }) =>
            e.action === 'consent.granted' && e.target_id === bobId,
        ),
      );
      const a = await call(t, {
        method: 'GET',
        url: `/api/v1/audit-logs?user_id=${aliceId}&action=consent.&per_page=100`,
        token: adminToken,
      });
      assert.equal(a.body.total, 4, 'two grants and two withdrawals, by alice on herself');
      for (const e of a.body.items) assert.equal(e.actor_id, aliceId);
      const activity = await call(t, {
        method: 'GET',
        url: `/api/v1/admin/activity?user_id=${aliceId}&action=consent.`,
        token: adminToken,
      });
      assert.equal(activity.body.total, 4);
      const user = await call(t, {
        method: 'GET',
        url: `/api/v1/audit-logs?user_id=${aliceId}`,
        token: aliceToken,
      });
      assert.equal(user.status, 403);
    });

    test('audit-logs/export: NDJSON, every event once, oldest first, filtered; admins only', async () => {
      // Enough rows in one millisecond to need several keyset batches with equal occurred_at.
      const at = new Date(t.clock.now().getTime() - 60_000);
      await t.c.store.transaction(async (tx) => {
        for (let i = 0; i < 25; i++)
          await audit(tx, { actorType: 'system' }, { action: 'export.test', metadata: { i } }, at);
      });
      const all = await call(t, { method: 'GET', url: '/api/v1/audit-logs/export', token: adminToken });
      assert.equal(all.status, 200, all.raw);
      assert.match(String(all.headers['content-type']), /^application\/x-ndjson/);
      const lines = all.raw.split('\n');
      assert.equal(lines.pop(), '', 'ends with a newline');
      const events = lines.map((l) => JSON.parse(l));
      const total = await call(t, { method: 'GET', url: '/api/v1/audit-logs?per_page=1', token: adminToken });
      assert.equal(events.length, total.body.total);
      assert.equal(new Set(events.map((e) => e.id)).size, events.length);
      for (let i = 1; i < events.length; i++) {
        const [p, c] = [events[i - 1], events[i]];
        assert.ok(
          p.occurred_at < c.occurred_at || (p.occurred_at === c.occurred_at && p.id < c.id),
          'oldest first',
        );
      }
      // Small batches in core: the keyset walks the 25 equal timestamps without losing or repeating one.
      const small: string[] = [];
      for await (const e of streamAuditEvents(t.c, { action: 'export.test' }, 4)) small.push(e.id);
      assert.equal(small.length, 25);
      assert.equal(new Set(small).size, 25);

      const f = await call(t, {
        method: 'GET',
        url: `/api/v1/audit-logs/export?user_id=${aliceId}&action=consent.withdrawn&since=${encodeURIComponent(new Date(0).toISOString())}`,
        token: adminToken,
      });
      const fl = f.raw
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        fl.map((e) => e.action),
        ['consent.withdrawn', 'consent.withdrawn'],
      );
      const none = await call(t, {
        method: 'GET',
        url: '/api/v1/audit-logs/export?action=no.such.action',
        token: adminToken,
      });
      assert.equal(none.status, 200);
      assert.equal(none.raw, '');

      const bad = await call(t, {
        method: 'GET',
        url: '/api/v1/audit-logs/export?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z',
        token: adminToken,
      });
      assert.equal(bad.status, 422, bad.raw);
      assert.equal(bad.body.error_code, 'VALIDATION_ERROR');
      const user = await call(t, { method: 'GET', url: '/api/v1/audit-logs/export', token: aliceToken });
      assert.equal(user.status, 403);
      assert.equal(user.body.error_code, 'AUTHORIZATION_ERROR');
      const anon = await call(t, { method: 'GET', url: '/api/v1/audit-logs/export' });
      assert.equal(anon.status, 401);
    });
  });
}
