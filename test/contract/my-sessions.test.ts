/**
 * "My sessions" at the core level on every dialect: the list (device parsed from the user agent, the
 * current flag, paging), 404 for another user's session, and revocation that stops access and refresh
 * at once — one session, all but the current one, and an admin's sign-out of everyone.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { authenticate, refresh, signIn, signUp } from '../../src/core/auth/service.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import type { RequestContext } from '../../src/core/events/events.js';
import {
  getMySession,
  listMySessions,
  type Me,
  revokeMyOtherSessions,
  revokeMySession,
} from '../../src/core/sessions/mine.js';
import { parseUserAgent } from '../../src/core/sessions/user-agent.js';
import { revokeAllPlatformSessions } from '../../src/core/users/admin.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const WINDOWS_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const ctx = (userAgent: string, ip = '198.51.100.4'): RequestContext => ({ ip, userAgent, requestId: 'r' });

function code(expected: ErrorCode) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    return true;
  };
}

let n = 0;
const email = () => `mine${++n}.${Date.now().toString(36)}@example.com`;

describe('parseUserAgent', () => {
  it('reads device, browser and system; unreadable or missing headers give unknown', () => {
    assert.deepEqual(parseUserAgent(IPHONE), {
      deviceName: 'Apple iPhone',
      deviceType: 'mobile',
      browser: 'Safari 17',
      os: 'iOS 17.1',
    });
    assert.deepEqual(parseUserAgent(WINDOWS_CHROME), {
      deviceName: 'Chrome on Windows',
      deviceType: 'desktop',
      browser: 'Chrome 120',
      os: 'Windows 10',
    });
    const unknown = { deviceName: null, deviceType: 'unknown', browser: null, os: null };
    assert.deepEqual(parseUserAgent(null), unknown);
    assert.deepEqual(parseUserAgent(''), unknown);
    assert.deepEqual(parseUserAgent('\u0000\u0001 ???'), unknown);
  });
});

for (const dialect of dialects()) {
  describe(`my sessions (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function setup() {
      const t = await testContainer(dialect);
      open.push(t);
      return t;
    }

    it('lists live sessions newest first with the parsed device and the current flag; pages', async () => {
      const { c, clock } = await setup();
      const e = email();
      const phone = await signUp(c, { email: e, password: GOOD_PASSWORD }, ctx(IPHONE, '203.0.113.9'));
      clock.advance(1000);
      const pc = await signIn(c, { email: e, password: GOOD_PASSWORD }, ctx(WINDOWS_CHROME));
      const me: Me = { userId: pc.user.id, sessionId: pc.session.id };
      const page = await listMySessions(c, me, {});
      assert.equal(page.total, 2);
      assert.equal(page.page, 1);
      assert.equal(page.per_page, 20);
      assert.equal(page.total_pages, 1);
      assert.deepEqual(
        page.data.map((s) => [s.id, s.is_current]),
        [
          [pc.session.id, true],
          [phone.session.id, false],
        ],
      );
      const p = page.data[1]!;
      assert.equal(p.user_id, phone.user.id);
      assert.equal(p.ip_address, '203.0.113.9');
      assert.equal(p.user_agent, IPHONE);
      assert.equal(p.device_name, 'Apple iPhone');
      assert.equal(p.device_type, 'mobile');
      assert.equal(p.browser, 'Safari 17');
      assert.equal(p.os, 'iOS 17.1');
      assert.equal(p.created_at, phone.session.createdAt.toISOString());
      // Last activity is what refresh writes.
      clock.advance(5000);
      await refresh(c, phone.tokens.refresh_token, ctx(IPHONE));
      assert.equal((await getMySession(c, me, phone.session.id)).last_activity_at, clock.now().toISOString());
      const second = await listMySessions(c, me, { page: 2, perPage: 1 });
      assert.deepEqual(
        second.data.map((s) => s.id),
        [phone.session.id],
      );
      assert.equal(second.total_pages, 2);
      await assert.rejects(listMySessions(c, me, { perPage: 101 }), code('VALIDATION_ERROR'));
    });

    it("another user's session, an unknown or an ended one: 404 alike, nothing changed", async () => {
      const { c } = await setup();
      const a = await signUp(c, { email: email(), password: GOOD_PASSWORD }, ctx(IPHONE));
      const b = await signUp(c, { email: email(), password: GOOD_PASSWORD }, ctx(IPHONE));
      const me: Me = { userId: a.user.id, sessionId: a.session.id };
      await assert.rejects(getMySession(c, me, b.session.id), code('NOT_FOUND_ERROR'));
      await assert.rejects(revokeMySession(c, me, b.session.id, ctx('x')), code('NOT_FOUND_ERROR'));
      await assert.rejects(revokeMySession(c, me, 'not-a-uuid', ctx('x')), code('NOT_FOUND_ERROR'));
      assert.equal((await authenticate(c, b.tokens.access_token)).session.id, b.session.id, 'b untouched');
    });

    it('revoking one session stops its access token and refresh at once; the others keep working', async () => {
      const { c } = await setup();
      const e = email();
      const one = await signUp(c, { email: e, password: GOOD_PASSWORD }, ctx(IPHONE));
      const two = await signIn(c, { email: e, password: GOOD_PASSWORD }, ctx(WINDOWS_CHROME));
      const me: Me = { userId: two.user.id, sessionId: two.session.id };
      await authenticate(c, one.tokens.access_token); // cached nowhere: the next check sees the revocation
      await revokeMySession(c, me, one.session.id, ctx(WINDOWS_CHROME));
      await assert.rejects(authenticate(c, one.tokens.access_token), code('TOKEN_ERROR'));
      await assert.rejects(refresh(c, one.tokens.refresh_token, ctx(IPHONE)), code('TOKEN_ERROR'));
      await assert.rejects(getMySession(c, me, one.session.id), code('NOT_FOUND_ERROR'));
      await assert.rejects(revokeMySession(c, me, one.session.id, ctx('x')), code('NOT_FOUND_ERROR'));
      assert.equal((await authenticate(c, two.tokens.access_token)).session.id, two.session.id);
      const audit = await c.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'session.revoke')
        .execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.target_id, one.session.id);
    });

    it('revoking the others keeps the current session only', async () => {
      const { c } = await setup();
      const e = email();
      const others = [
        await signUp(c, { email: e, password: GOOD_PASSWORD }, ctx(IPHONE)),
        await signIn(c, { email: e, password: GOOD_PASSWORD }, ctx(IPHONE)),
      ];
      const current = await signIn(c, { email: e, password: GOOD_PASSWORD }, ctx(WINDOWS_CHROME));
      const stranger = await signUp(c, { email: email(), password: GOOD_PASSWORD }, ctx(IPHONE));
      const me: Me = { userId: current.user.id, sessionId: current.session.id };
      assert.deepEqual(await revokeMyOtherSessions(c, me, ctx(WINDOWS_CHROME)), { revoked: 2 });
      for (const o of others) {
        await assert.rejects(authenticate(c, o.tokens.access_token), code('TOKEN_ERROR'));
        await assert.rejects(refresh(c, o.tokens.refresh_token, ctx(IPHONE)), code('TOKEN_ERROR'));
      }
      assert.equal((await authenticate(c, current.tokens.access_token)).session.id, current.session.id);
      assert.equal((await authenticate(c, stranger.tokens.access_token)).session.id, stranger.session.id);
      const list = await listMySessions(c, me, {});
      assert.deepEqual(
        list.data.map((s) => s.id),
        [current.session.id],
      );
      assert.deepEqual(await revokeMyOtherSessions(c, me, ctx(WINDOWS_CHROME)), { revoked: 0 });
    });

    it("an admin's sign-out of everyone keeps only the admin's session; non-admins are refused", async () => {
      const { c } = await setup();
      const admin = await signUp(c, { email: email(), password: GOOD_PASSWORD }, ctx(IPHONE));
      const a = await signUp(c, { email: email(), password: GOOD_PASSWORD }, ctx(IPHONE));
      const b = await signUp(c, { email: email(), password: GOOD_PASSWORD }, ctx(IPHONE));
      const userCtx: RequestContext = { ...ctx('x'), actorId: a.user.id, actorType: 'user' };
      await assert.rejects(revokeAllPlatformSessions(c, a.session.id, userCtx), code('AUTHORIZATION_ERROR'));
      assert.equal((await authenticate(c, b.tokens.access_token)).session.id, b.session.id);
      const adminCtx: RequestContext = { ...ctx('x'), actorId: admin.user.id, actorType: 'admin' };
      assert.deepEqual(await revokeAllPlatformSessions(c, admin.session.id, adminCtx), { revoked: 2 });
      for (const s of [a, b])
        await assert.rejects(authenticate(c, s.tokens.access_token), code('TOKEN_ERROR'));
      assert.equal((await authenticate(c, admin.tokens.access_token)).session.id, admin.session.id);
      const events = await c.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('event_type', '=', 'session.revoked')
        .execute();
      assert.equal(events.length, 2);
    });
  });
}
