/**
 * The platform-admin API in process (app.inject over a real database, fixed clock), on every dialect:
 * who may call each route, statistics, the audit-log filters and paging, maintenance mode, and the
 * system configuration without secrets.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { platformStats } from '../../src/core/admin/stats.js';
import { loadConfig, redactConfig } from '../../src/core/config/load.js';
import { audit } from '../../src/core/events/events.js';
import { users } from '../../src/core/store/repos/users.js';
import { createUser } from '../../src/core/users/service.js';
import { GOOD_PASSWORD, type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const BOOTSTRAP_PASSWORD = 'Bootstrap-Secret-9!zz';

async function call(t: TestApp, opts: InjectOptions & { token?: string | undefined }) {
  const { token, ...rest } = opts;
  const res = await t.app.inject({
    ...rest,
    headers: { ...(rest.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    body: res.body ? res.json() : undefined,
    raw: res.body,
  };
}

async function signIn(t: TestApp, email: string, password = GOOD_PASSWORD): Promise<string> {
  const r = await call(t, { method: 'POST', url: '/api/v1/auth/signin', payload: { email, password } });
  assert.equal(r.status, 200, r.raw);
  return r.body.access_token as string;
}

const ROUTES: Array<{ method: 'GET' | 'POST'; url: string; payload?: object }> = [
  { method: 'GET', url: '/api/v1/admin/stats' },
  { method: 'GET', url: '/api/v1/admin/activity' },
  { method: 'GET', url: '/api/v1/audit-logs' },
  { method: 'GET', url: '/api/v1/admin/maintenance' },
  { method: 'POST', url: '/api/v1/admin/maintenance', payload: { enabled: false } },
  { method: 'GET', url: '/api/v1/admin/system/config' },
];

for (const dialect of dialects()) {
  describe(`admin API (${dialect})`, () => {
    let t: TestApp;
    let adminToken: string;
    let userToken: string;
    let adminId: string;
    let userId: string;
    const masterKey = () => t.c.config.masterKey!;

    before(async () => {
      t = await testApp(dialect, {
        ADMIN_BOOTSTRAP_EMAIL: 'boot@example.com',
        ADMIN_BOOTSTRAP_PASSWORD: BOOTSTRAP_PASSWORD,
      });
      const ctx = { actorType: 'cli' as const };
      const admin = await createUser(
        t.c,
        { email: 'admin@example.com', password: GOOD_PASSWORD, isAdmin: true, emailVerified: true },
        ctx,
      );
      const user = await createUser(t.c, { email: 'user@example.com', password: GOOD_PASSWORD }, ctx);
      adminId = admin.id;
      userId = user.id;
      adminToken = await signIn(t, 'admin@example.com');
      userToken = await signIn(t, 'user@example.com');
    });
    after(async () => t.close());

    test('every admin route: admin 200, signed-in user 403, anonymous 401', async () => {
      for (const route of ROUTES) {
        const name = `${route.method} ${route.url}`;
        const asAdmin = await call(t, { ...route, token: adminToken });
        assert.equal(asAdmin.status, 200, `${name} as admin: ${asAdmin.raw}`);
        const asUser = await call(t, { ...route, token: userToken });
        assert.equal(asUser.status, 403, `${name} as user`);
        assert.deepEqual(asUser.body, {
          detail: 'Platform administrator role required',
          error_code: 'AUTHORIZATION_ERROR',
          status_code: 403,
        });
        const anonymous = await call(t, route);
        assert.equal(anonymous.status, 401, `${name} anonymous`);
        assert.equal(anonymous.body.error_code, 'AUTHENTICATION_ERROR');
        const bad = await call(t, { ...route, token: 'not.a.jwt' });
        assert.equal(bad.status, 401, `${name} with a bad token`);
        assert.equal(bad.body.error_code, 'TOKEN_ERROR');
      }
    });

    test('a non-admin learns nothing from bad input: auth comes before validation', async () => {
      const r = await call(t, {
        method: 'GET',
        url: '/api/v1/admin/activity?per_page=5000',
        token: userToken,
      });
      assert.equal(r.status, 403);
      const anon = await call(t, {
        method: 'POST',
        url: '/api/v1/admin/maintenance',
        payload: { enabled: 'x' },
      });
      assert.equal(anon.status, 401);
    });

    test('stats: users by status, organizations, live sessions, sign-ins of the last 24 h', async () => {
      const now = t.clock.now();
      const suspended = await createUser(
        t.c,
        { email: 'gone@example.com', emailVerified: true },
        { actorType: 'cli' },
      );
      await users.update(t.c.store.db, suspended.id, { status: 'suspended' }, now);
      const deleted = await createUser(
        t.c,
        { email: 'del@example.com', isAdmin: true },
        { actorType: 'cli' },
      );
      await users.update(t.c.store.db, deleted.id, { status: 'deleted' }, now);
      await t.c.store.db
        .insertInto('organizations')
        .values({
          id: randomUUID(),
          name: 'Acme',
          slug: 'acme',
          description: null,
          logo_url: null,
          metadata: '{}',
          created_by: adminId,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const wrong = await call(t, {
        method: 'POST',
        url: '/api/v1/auth/signin',
        payload: { email: 'user@example.com', password: 'Wrong-password-1!' },
      });
      assert.equal(wrong.status, 401);
      // A sign-in 25 hours ago is outside the window.
      await audit(
        t.c.store.db,
        { actorId: userId },
        { action: 'auth.signin', targetType: 'user', targetId: userId },
        new Date(now.getTime() - 25 * 3600_000),
      );

      const r = await call(t, { method: 'GET', url: '/api/v1/admin/stats', token: adminToken });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, {
        users: { total: 4, active: 2, suspended: 1, deleted: 1, verified: 2, admins: 1 },
        organizations: { total: 1 },
        sessions: { active: 2 },
        sign_ins_last_24h: 2,
        sign_in_failures_last_24h: 1,
        generated_at: now.toISOString(),
      });
      // Sessions expire with time; the 24-hour window moves with the clock (the access tokens have
      // expired by then too, so ask the core function the route calls).
      t.clock.advance(8 * 24 * 3600_000);
      const later = await platformStats(t.c);
      t.clock.set(now);
      assert.equal(later.sessions.active, 0);
      assert.equal(later.sign_ins_last_24h, 0);
    });

    describe('activity and audit-logs', () => {
      const base = new Date('2024-01-01T00:00:00.000Z');
      const at = (minutes: number) => new Date(base.getTime() + minutes * 60_000).toISOString();
      const window = `since=${encodeURIComponent(at(0))}&until=${encodeURIComponent(at(60))}`;
      const ACTIONS = ['seed.alpha', 'seed.beta.sub', 'seedling.x'];

      before(async () => {
        for (let i = 0; i < 25; i++) {
          await audit(
            t.c.store.db,
            {
              actorId: i % 2 ? 'actor-odd' : 'actor-even',
              actorType: 'user',
              ip: '203.0.113.7',
              userAgent: 'test-agent',
              requestId: `req-${i}`,
            },
            {
              action: ACTIONS[i % 3]!,
              outcome: i % 4 === 0 ? 'failure' : 'success',
              targetType: 'thing',
              targetId: `target-${i % 5}`,
              metadata: { i },
            },
            new Date(at(i)),
          );
        }
      });

      async function list(query: string, url = '/api/v1/admin/activity') {
        const r = await call(t, { method: 'GET', url: `${url}?${query}`, token: adminToken });
        assert.equal(r.status, 200, r.raw);
        return r.body as {
          items: Array<Record<string, unknown> & { metadata: { i: number } }>;
          total: number;
          page: number;
          per_page: number;
        };
      }
      const indexes = (b: Awaited<ReturnType<typeof list>>) => b.items.map((e) => e.metadata.i);

      test('newest first, paged, with the documented item fields', async () => {
        const p1 = await list(`${window}&per_page=10`);
        assert.equal(p1.total, 25);
        assert.equal(p1.page, 1);
        assert.equal(p1.per_page, 10);
        assert.deepEqual(indexes(p1), [24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
        assert.deepEqual(p1.items[0], {
          id: p1.items[0]!.id,
          occurred_at: at(24),
          action: 'seed.alpha',
          outcome: 'failure',
          actor_id: 'actor-even',
          actor_type: 'user',
          target_type: 'thing',
          target_id: 'target-4',
          ip: '203.0.113.7',
          user_agent: 'test-agent',
          request_id: 'req-24',
          metadata: { i: 24 },
        });
        assert.deepEqual(indexes(await list(`${window}&per_page=10&page=3`)), [4, 3, 2, 1, 0]);
        const beyond = await list(`${window}&per_page=10&page=4`);
        assert.deepEqual(beyond.items, []);
        assert.equal(beyond.total, 25);
        const all = await list('');
        assert.equal(all.per_page, 50);
        assert.ok(all.total > 25, 'without a window the sign-ins of this suite are there too');
        const times = all.items.map((e) => e.occurred_at as string);
        assert.deepEqual([...times].sort().reverse(), times);
      });

      test('filters: action exact or prefix, actor, target, outcome, time window, combined', async () => {
        assert.equal((await list(`${window}&action=seed.alpha`)).total, 9);
        assert.equal((await list(`${window}&action=seed`)).total, 0, 'exact unless it ends in . or *');
        assert.equal((await list(`${window}&action=seed.`)).total, 17, '`seed.` does not match seedling');
        assert.equal((await list(`${window}&action=seed.*`)).total, 17);
        assert.equal((await list(`${window}&action=see_.`)).total, 0, 'LIKE wildcards are literal');
        assert.equal((await list(`${window}&action=${encodeURIComponent("x' or 1=1 --")}`)).total, 0);
        assert.equal((await list(`${window}&actor_id=actor-odd`)).total, 12);
        assert.deepEqual(indexes(await list(`${window}&target_id=target-0`)), [20, 15, 10, 5, 0]);
        assert.equal((await list(`${window}&outcome=failure`)).total, 7);
        const slice = await list(
          `since=${encodeURIComponent(at(10))}&until=${encodeURIComponent(at(20))}&per_page=100`,
        );
        assert.deepEqual(indexes(slice), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10], 'since ≤ t < until');
        const combined = await list(`${window}&action=seed.&outcome=failure&actor_id=actor-even`);
        assert.deepEqual(indexes(combined), [24, 16, 12, 4, 0]);
        const signins = await list(`action=auth.&actor_id=${userId}&outcome=success`);
        assert.ok(signins.total >= 1);
        assert.ok(signins.items.every((e) => e.action === 'auth.signin' && e.target_id === userId));
      });

      test('/api/v1/audit-logs answers the same query the same way', async () => {
        for (const q of [`${window}&per_page=7&page=2`, `${window}&action=seed.&outcome=success`]) {
          assert.deepEqual(await list(q, '/api/v1/audit-logs'), await list(q));
        }
      });

      test('bad query parameters: 422 VALIDATION_ERROR', async () => {
        for (const q of [
          'per_page=101',
          'per_page=0',
          'page=0',
          'page=abc',
          'outcome=maybe',
          'since=yesterday',
          `since=${encodeURIComponent(at(5))}&until=${encodeURIComponent(at(5))}`,
        ]) {
          for (const url of ['/api/v1/admin/activity', '/api/v1/audit-logs']) {
            const r = await call(t, { method: 'GET', url: `${url}?${q}`, token: adminToken });
            assert.equal(r.status, 422, `${url}?${q}: ${r.raw}`);
            assert.equal(r.body.error_code, 'VALIDATION_ERROR');
            assert.equal(r.body.status_code, 422);
          }
        }
      });
    });

    test('maintenance: non-admin writes 503 with Retry-After; reads, health, sign-in and admins keep working', async () => {
      t.clock.advance(1000); // after the earlier route checks' toggles, so the audit order is certain
      const state = await call(t, { method: 'GET', url: '/api/v1/admin/maintenance', token: adminToken });
      assert.deepEqual(
        { enabled: state.body.enabled, message: state.body.message },
        { enabled: false, message: null },
      );
      const on = await call(t, {
        method: 'POST',
        url: '/api/v1/admin/maintenance',
        token: adminToken,
        payload: { enabled: true, message: 'Upgrading the database' },
      });
      assert.equal(on.status, 200, on.raw);
      assert.deepEqual(on.body, {
        enabled: true,
        message: 'Upgrading the database',
        updated_at: t.clock.now().toISOString(),
        updated_by: adminId,
      });

      const profile = { method: 'PATCH' as const, url: '/api/v1/auth/profile', payload: { first_name: 'X' } };
      const blocked = await call(t, { ...profile, token: userToken });
      assert.equal(blocked.status, 503);
      assert.deepEqual(blocked.body, {
        detail: 'Upgrading the database',
        error_code: 'SERVICE_UNAVAILABLE',
        status_code: 503,
      });
      assert.equal(blocked.headers['retry-after'], '60');
      const signup = await call(t, {
        method: 'POST',
        url: '/api/v1/auth/signup',
        payload: { email: 'new@example.com', password: GOOD_PASSWORD },
      });
      assert.equal(signup.status, 503, 'sign-up is a write');
      assert.equal(signup.body.error_code, 'SERVICE_UNAVAILABLE');
      const forged = await call(t, { ...profile, token: `${adminToken}x` });
      assert.equal(forged.status, 503, 'a tampered admin token is not an admin');

      assert.equal((await call(t, { method: 'GET', url: '/api/v1/auth/me', token: userToken })).status, 200);
      for (const url of ['/health', '/health/ready', '/health/live', '/.well-known/jwks.json'])
        assert.equal((await call(t, { method: 'GET', url })).status, 200, url);
      assert.ok(await signIn(t, 'user@example.com'), 'sign-in stays open during maintenance');

      const asAdmin = await call(t, { ...profile, token: adminToken });
      assert.equal(asAdmin.status, 200, 'admins can still write');

      const events = await call(t, {
        method: 'GET',
        url: '/api/v1/audit-logs?action=admin.maintenance.',
        token: adminToken,
      });
      assert.equal(events.body.items[0].action, 'admin.maintenance.enable');
      assert.equal(events.body.items[0].actor_id, adminId);
      assert.deepEqual(events.body.items[0].metadata, { message: 'Upgrading the database' });

      const off = await call(t, {
        method: 'POST',
        url: '/api/v1/admin/maintenance',
        token: adminToken,
        payload: { enabled: false },
      });
      assert.equal(off.body.enabled, false);
      assert.equal((await call(t, { ...profile, token: userToken })).status, 200, 'writes work again');
    });

    test('maintenance: bad bodies are 422 and change nothing', async () => {
      for (const payload of [{ enabled: 'yes' }, {}, { enabled: true, message: 'x'.repeat(501) }]) {
        const r = await call(t, {
          method: 'POST',
          url: '/api/v1/admin/maintenance',
          token: adminToken,
          payload,
        });
        assert.equal(r.status, 422, JSON.stringify(payload));
      }
      const state = await call(t, { method: 'GET', url: '/api/v1/admin/maintenance', token: adminToken });
      assert.equal(state.body.enabled, false);
    });

    test('system/config: effective configuration, version, database and keys — no secret', async () => {
      const r = await call(t, { method: 'GET', url: '/api/v1/admin/system/config', token: adminToken });
      assert.equal(r.status, 200);
      for (const secret of [masterKey(), BOOTSTRAP_PASSWORD]) assert.ok(!r.raw.includes(secret));
      assert.doesNotMatch(r.raw, /PRIVATE KEY|private_key|"d":/);
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
      assert.equal(r.body.version, pkg.version);
      assert.equal(r.body.config.masterKey, '***');
      assert.equal(r.body.config.adminBootstrapPassword, '***');
      assert.equal(r.body.config.adminBootstrapEmail, 'boot@example.com');
      assert.equal(r.body.config.bcryptRounds, 4);
      assert.equal(r.body.config.databaseUrl, redactConfig(t.c.config)['databaseUrl']);
      assert.equal(r.body.database.dialect, dialect);
      assert.equal(r.body.database.pending_migrations, 0);
      assert.ok(r.body.database.migrations.every((m: { state: string }) => m.state === 'applied'));
      assert.equal(r.body.master_key_source, 'env');
      assert.deepEqual(r.body.keys.map((k: { state: string }) => k.state).sort(), ['active', 'next']);
      for (const k of r.body.keys)
        assert.deepEqual(Object.keys(k).sort(), [
          'activated_at',
          'alg',
          'created_at',
          'kid',
          'retired_at',
          'retires_at',
          'state',
        ]);
    });
  });
}

test('redactConfig masks the database password (URL and query form) and the Redis URL', () => {
  const cfg = loadConfig({
    env: {
      DATABASE_URL: 'postgres://janua:db-Pa55word@db.example.com:5432/janua?sslmode=require&password=q-Pa55',
      REDIS_URL: 'redis://:redis-Pa55@cache:6379/0',
      JANUA_MASTER_KEY: 'bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXk=',
      ADMIN_BOOTSTRAP_EMAIL: 'a@b.co',
      ADMIN_BOOTSTRAP_PASSWORD: 'boot-Pa55',
      JANUA_DATA_DIR: '/tmp/janua-redact',
    },
  });
  const text = JSON.stringify(redactConfig(cfg));
  for (const secret of ['db-Pa55word', 'q-Pa55', 'redis-Pa55', 'boot-Pa55', cfg.masterKey!])
    assert.ok(!text.includes(secret), secret);
  assert.match(
    text,
    /postgres:\/\/janua:\*\*\*@db\.example\.com:5432\/janua\?sslmode=require&password=\*\*\*/,
  );
});
