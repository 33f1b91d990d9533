/**
 * "My sessions", the refresh reuse interval and the users/admin compatibility paths, against the real
 * `janua serve` binary on each dialect: the list shows the current flag and the parsed user agent;
 * ending a session stops its access token and its refresh token at once; ending all but the current one;
 * a just-spent refresh token presented again is reuse by default and a concurrent refresh within
 * REFRESH_REUSE_INTERVAL_SECONDS; the admin spellings answer like the paths they alias, admins only.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { ADMIN_EMAIL, ADMIN_ENV } from './control-chars.js';
import {
  AUTH,
  assertError,
  type Call,
  e2eDaemon,
  ISO_RE,
  PASSWORD,
  type Session,
  signIn,
  signUp,
  UUID_RE,
  uniqueEmail,
} from './support.js';

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const SESSIONS = '/api/v1/sessions';
const SESSION_KEYS = [
  'browser',
  'created_at',
  'device_name',
  'device_type',
  'id',
  'ip_address',
  'is_current',
  'last_activity_at',
  'os',
  'user_agent',
  'user_id',
];

/** Signs up on one device and signs in on others: one session per user agent, in that order. */
async function devices(call: Call, agents: string[]): Promise<Session[]> {
  const email = uniqueEmail('devices');
  const out: Session[] = [];
  for (const [i, ua] of agents.entries()) {
    const path = i === 0 ? `${AUTH}/signup` : `${AUTH}/signin`;
    const res = await call('POST', path, {
      body: { email, password: PASSWORD },
      headers: { 'user-agent': ua },
    });
    assert.ok(res.status === 200 || res.status === 201, res.text);
    out.push(res.body);
  }
  return out;
}

const works = async (call: Call, s: Session) =>
  (await call('GET', `${AUTH}/me`, { token: s.access_token })).status;
const refreshes = async (call: Call, s: Session) =>
  call('POST', `${AUTH}/refresh`, { body: { refresh_token: s.refresh_token } });
const sessionId = async (call: Call, s: Session) =>
  (await call('GET', `${SESSIONS}/current`, { token: s.access_token })).body.id as string;

for (const dialect of dialects()) {
  describe(`e2e sessions and compatibility paths (${dialect})`, () => {
    let call: Call;
    let store: Store;
    e2eDaemon(dialect, ADMIN_ENV, (f) => {
      ({ call, store } = f);
    });

    test('GET /sessions: the SDK shape, newest first, the current flag and the parsed device', async () => {
      const [phone, pc] = await devices(call, [IPHONE, CHROME]);
      const res = await call('GET', SESSIONS, { token: pc!.access_token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['data', 'page', 'per_page', 'total', 'total_pages']);
      assert.deepEqual(
        [res.body.total, res.body.page, res.body.per_page, res.body.total_pages],
        [2, 1, 20, 1],
      );
      const [first, second] = res.body.data;
      for (const s of res.body.data) {
        assert.deepEqual(Object.keys(s).sort(), SESSION_KEYS);
        assert.match(s.id, UUID_RE);
        assert.equal(s.user_id, pc!.user.id);
        assert.match(s.created_at, ISO_RE);
        assert.match(s.last_activity_at, ISO_RE);
        assert.equal(s.ip_address, '127.0.0.1');
      }
      assert.deepEqual(
        [first.is_current, first.device_name, first.device_type, first.browser, first.os, first.user_agent],
        [true, 'Chrome on Windows', 'desktop', 'Chrome 120', 'Windows 10', CHROME],
      );
      assert.deepEqual(
        [second.is_current, second.device_name, second.device_type, second.browser, second.os],
        [false, 'Apple iPhone', 'mobile', 'Safari 17', 'iOS 17.1'],
      );
      const current = await call('GET', `${SESSIONS}/current`, { token: phone!.access_token });
      assert.equal(current.status, 200, current.text);
      assert.equal(current.body.id, second.id);
      assert.equal(current.body.is_current, true);
      const one = await call('GET', `${SESSIONS}/${second.id}`, { token: pc!.access_token });
      assert.deepEqual(one.body, second);
      const paged = await call('GET', `${SESSIONS}?page=2&per_page=1`, { token: pc!.access_token });
      assert.deepEqual(
        paged.body.data.map((s: { id: string }) => s.id),
        [second.id],
      );
      assert.equal(paged.body.total_pages, 2);
      assertError(await call('GET', SESSIONS), 401, 'AUTHENTICATION_ERROR', 'anonymous');
      assertError(
        await call('GET', `${SESSIONS}?per_page=1000`, { token: pc!.access_token }),
        422,
        'VALIDATION_ERROR',
        'per_page over the limit',
      );
    });

    test("another user's session id is 404 like an unknown one; a malformed id 422; nothing ends", async () => {
      const [mine] = await devices(call, [CHROME]);
      const [theirs] = await devices(call, [IPHONE]);
      const theirId = await sessionId(call, theirs!);
      for (const method of ['GET', 'DELETE'] as const) {
        assertError(
          await call(method, `${SESSIONS}/${theirId}`, { token: mine!.access_token }),
          404,
          'NOT_FOUND_ERROR',
          `${method} another user's session`,
        );
        assertError(
          await call(method, `${SESSIONS}/${crypto.randomUUID()}`, { token: mine!.access_token }),
          404,
          'NOT_FOUND_ERROR',
          `${method} unknown session`,
        );
        assertError(
          await call(method, `${SESSIONS}/nope`, { token: mine!.access_token }),
          422,
          'VALIDATION_ERROR',
          `${method} malformed id`,
        );
      }
      assert.equal(await works(call, theirs!), 200);
    });

    test('DELETE /sessions/{id}: its access token and refresh token stop at once; the rest go on', async () => {
      const [phone, pc] = await devices(call, [IPHONE, CHROME]);
      const phoneId = await sessionId(call, phone!);
      assert.equal(await works(call, phone!), 200);
      const del = await call('DELETE', `${SESSIONS}/${phoneId}`, { token: pc!.access_token });
      assert.equal(del.status, 200, del.text);
      assert.deepEqual(del.body, { message: 'Session revoked' });
      assertError(await call('GET', `${AUTH}/me`, { token: phone!.access_token }), 401, 'TOKEN_ERROR', 'me');
      assertError(await refreshes(call, phone!), 401, 'TOKEN_ERROR', 'refresh of the ended session');
      assert.equal(await works(call, pc!), 200);
      const list = await call('GET', SESSIONS, { token: pc!.access_token });
      assert.equal(list.body.total, 1);
      assert.equal(list.body.data[0].is_current, true);
      assertError(
        await call('DELETE', `${SESSIONS}/${phoneId}`, { token: pc!.access_token }),
        404,
        'NOT_FOUND_ERROR',
        'ended already',
      );
      const row = await store.db
        .selectFrom('sessions')
        .select('revoke_reason')
        .where('id', '=', phoneId)
        .executeTakeFirstOrThrow();
      assert.equal(row.revoke_reason, 'revoked');
    });

    test('DELETE /sessions and POST /sessions/revoke-all end every session but the current one', async () => {
      for (const [method, path] of [
        ['DELETE', SESSIONS],
        ['POST', `${SESSIONS}/revoke-all`],
      ] as const) {
        const [a, b, current] = await devices(call, [IPHONE, IPHONE, CHROME]);
        // The SDK sends its bodyless POST with a JSON content type and an empty body: that is no body.
        const body = method === 'POST' ? { body: '' } : {};
        const res = await call(method, path, { token: current!.access_token, ...body });
        assert.equal(res.status, 200, `${method} ${path}: ${res.text}`);
        assert.equal(res.body.sessions_revoked, 2);
        for (const s of [a!, b!]) {
          assert.equal(await works(call, s), 401, `${method} ${path}: another device's access token`);
          assert.equal((await refreshes(call, s)).status, 401, `${method} ${path}: another device's refresh`);
        }
        assert.equal(await works(call, current!), 200);
        assert.equal((await refreshes(call, current!)).status, 200);
      }
    });

    test('ending sessions stays open in maintenance mode, like sign-out; other writes get 503', async () => {
      const admin = await signIn(call, ADMIN_EMAIL);
      const [a, b, current] = await devices(call, [IPHONE, IPHONE, CHROME]);
      const toggle = async (enabled: boolean) => {
        const res = await call('POST', '/api/v1/admin/maintenance', {
          token: admin.access_token,
          body: { enabled },
        });
        assert.equal(res.status, 200, res.text);
      };
      await toggle(true);
      try {
        const write = await call('PATCH', `${AUTH}/profile`, {
          token: current!.access_token,
          body: { first_name: 'X' },
        });
        assert.equal(write.status, 503, write.text);
        const one = await call('DELETE', `${SESSIONS}/${await sessionId(call, a!)}`, {
          token: current!.access_token,
        });
        assert.equal(one.status, 200, one.text);
        const rest = await call('DELETE', SESSIONS, { token: current!.access_token });
        assert.equal(rest.status, 200, rest.text);
        assert.equal(rest.body.sessions_revoked, 1);
        assert.equal(await works(call, b!), 401);
      } finally {
        await toggle(false);
      }
    });

    test('REFRESH_REUSE_INTERVAL_SECONDS 0 (default): presenting a spent refresh token revokes the session', async () => {
      const s = await signUp(call, uniqueEmail('strict'));
      const first = await refreshes(call, s);
      assert.equal(first.status, 200, first.text);
      assertError(await refreshes(call, s), 401, 'TOKEN_ERROR', 'replay');
      assertError(await refreshes(call, first.body), 401, 'TOKEN_ERROR', 'successor after the replay');
      assert.equal(await works(call, first.body), 401);
    });

    test('users/admin compatibility paths: the same answers as the paths they alias, admins only', async () => {
      const admin = await signIn(call, ADMIN_EMAIL);
      const user = await signUp(call, uniqueEmail('plain'));
      const a = { token: admin.access_token };
      const u = { token: user.access_token };

      // POST /api/v1/users (admin create)
      const email = uniqueEmail('created');
      const created = await call('POST', '/api/v1/users', {
        ...a,
        body: { email, password: PASSWORD, first_name: 'New', email_verified: true },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.email, email);
      assert.equal(created.body.first_name, 'New');
      assert.equal(created.body.email_verified, true);
      assert.equal(created.body.is_admin, false);
      assert.equal((await signIn(call, email)).user.id, created.body.id, 'the password works');
      assertError(
        await call('POST', '/api/v1/users', { ...a, body: { email } }),
        409,
        'CONFLICT_ERROR',
        'dup',
      );
      assertError(
        await call('POST', '/api/v1/users', { ...u, body: { email: uniqueEmail('x'), is_admin: true } }),
        403,
        'AUTHORIZATION_ERROR',
        'create as a plain user',
      );
      assertError(
        await call('POST', '/api/v1/users', {
          ...a,
          body: { email: uniqueEmail('weak'), password: 'short' },
        }),
        422,
        'VALIDATION_ERROR',
        'weak password',
      );

      // GET /api/v1/users/by-email
      const found = await call(
        'GET',
        `/api/v1/users/by-email?email=${encodeURIComponent(email.toUpperCase())}`,
        a,
      );
      assert.equal(found.status, 200, found.text);
      assert.deepEqual(found.body, (await call('GET', `/api/v1/users/${created.body.id}`, a)).body);
      assertError(
        await call('GET', `/api/v1/users/by-email?email=${encodeURIComponent(user.user.email)}`, u),
        403,
        'AUTHORIZATION_ERROR',
        'by-email as a plain user, even their own',
      );
      assertError(
        await call('GET', `/api/v1/users/by-email?email=${uniqueEmail('nobody')}`, a),
        404,
        'NOT_FOUND_ERROR',
        'unknown email',
      );
      assertError(
        await call('GET', `/api/v1/users/by-email?email=${created.body.id}`, a),
        422,
        'VALIDATION_ERROR',
        'an id is not an email',
      );

      // POST /api/v1/users/{id}/unsuspend (= reactivate)
      const target = `/api/v1/users/${created.body.id}`;
      assert.equal((await call('POST', `${target}/suspend`, a)).body.status, 'suspended');
      assertError(
        await call('POST', `${target}/unsuspend`, u),
        403,
        'AUTHORIZATION_ERROR',
        'unsuspend as user',
      );
      const unsuspended = await call('POST', `${target}/unsuspend`, a);
      assert.equal(unsuspended.status, 200, unsuspended.text);
      assert.equal(unsuspended.body.status, 'active');

      // GET /api/v1/admin/config (= system/config), GET /api/v1/admin/health
      const config = await call('GET', '/api/v1/admin/config', a);
      assert.equal(config.status, 200, config.text);
      const system = await call('GET', '/api/v1/admin/system/config', a);
      assert.deepEqual(Object.keys(config.body).sort(), Object.keys(system.body).sort());
      assert.equal(config.body.config.refreshReuseIntervalSeconds, 0);
      const health = await call('GET', '/api/v1/admin/health', a);
      assert.equal(health.status, 200, health.text);
      assert.deepEqual(health.body, { status: 'healthy', database: true, redis: null, kms: true });
      for (const path of ['/api/v1/admin/config', '/api/v1/admin/health'])
        assertError(await call('GET', path, u), 403, 'AUTHORIZATION_ERROR', `${path} as a plain user`);
      assertError(
        await call('POST', '/api/v1/admin/sessions/revoke-all', u),
        403,
        'AUTHORIZATION_ERROR',
        'u',
      );
      assert.equal(await works(call, admin), 200, 'a refused revoke-all ended nothing');

      // POST /api/v1/admin/sessions/revoke-all: everyone's sessions but the caller's
      const others = [user, ...(await devices(call, [IPHONE, CHROME]))];
      const revoked = await call('POST', '/api/v1/admin/sessions/revoke-all', a);
      assert.equal(revoked.status, 200, revoked.text);
      assert.ok(revoked.body.sessions_revoked >= others.length, revoked.text);
      for (const s of others) assert.equal(await works(call, s), 401);
      assert.equal(await works(call, admin), 200, "the admin's own session goes on");
    });
  });

  describe(`e2e refresh reuse interval (${dialect})`, () => {
    let call: Call;
    e2eDaemon(dialect, { REFRESH_REUSE_INTERVAL_SECONDS: '60' }, (f) => {
      ({ call } = f);
    });

    test('within the interval two refreshes with one token both get a pair for the same session', async () => {
      const s = await signUp(call, uniqueEmail('grace'));
      const [x, y] = await Promise.all([refreshes(call, s), refreshes(call, s)]);
      assert.equal(x!.status, 200, x!.text);
      assert.equal(y!.status, 200, y!.text);
      assert.notEqual(x!.body.refresh_token, y!.body.refresh_token);
      const list = await call('GET', SESSIONS, { token: x!.body.access_token });
      assert.equal(list.body.total, 1, 'one session');
      assert.equal(await sessionId(call, y!.body), list.body.data[0].id);
      // A third, sequential presentation is still within the interval; each successor rotates on.
      assert.equal((await refreshes(call, s)).status, 200);
      assert.equal((await refreshes(call, x!.body)).status, 200);
      assert.equal((await refreshes(call, y!.body)).status, 200);
    });
  });
}
