/** The sign-in slice end to end at the core level, on every dialect, with a FixedClock. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { authenticate, refresh, signIn, signOut, signUp } from '../../src/core/auth/service.js';
import type { Container } from '../../src/core/container.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import type { RequestContext } from '../../src/core/events/events.js';
import { sessions } from '../../src/core/store/repos/sessions.js';
import { users } from '../../src/core/store/repos/users.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { DAY, HOUR, MIN } from '../helpers/store.js';

const CTX: RequestContext = { ip: '192.0.2.10', userAgent: 'contract-test', requestId: 'req-contract' };

function code(expected: ErrorCode, detail?: RegExp) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (detail) assert.match(err.message, detail);
    return true;
  };
}

let n = 0;
const email = () => `person${++n}.${Date.now().toString(36)}@example.com`;

for (const dialect of dialects()) {
  describe(`auth service (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function setup(env: Record<string, string> = {}) {
      const t = await testContainer(dialect, env);
      open.push(t);
      return t;
    }
    async function outbox(c: Container, type: string) {
      return c.store.db.selectFrom('outbox').selectAll().where('event_type', '=', type).execute();
    }

    it('signUp creates the user, a session and tokens that authenticate; events and audit are written', async () => {
      const { c } = await setup();
      const e = email();
      const s = await signUp(
        c,
        { email: `  ${e.toUpperCase()} `, password: GOOD_PASSWORD, firstName: 'Ana' },
        CTX,
      );
      assert.equal(s.user.email, e, 'email normalized');
      assert.equal(s.user.firstName, 'Ana');
      assert.equal(s.tokens.token_type, 'bearer');
      assert.equal(s.tokens.expires_in, c.config.accessTokenMinutes * 60);
      assert.ok(s.tokens.refresh_token.length >= 22);
      const auth = await authenticate(c, s.tokens.access_token);
      assert.equal(auth.user.id, s.user.id);
      assert.equal(auth.session.id, s.session.id);
      assert.equal(auth.claims.sub, s.user.id);
      assert.equal(auth.claims.sid, s.session.id);
      assert.equal(auth.claims.iss, c.config.baseUrl);
      assert.equal(auth.claims.aud, c.config.jwtAudience);
      assert.equal(auth.session.ip, '192.0.2.10');
      assert.equal((await outbox(c, 'user.created')).length, 1);
      assert.equal((await outbox(c, 'session.created')).length, 1);
      const audits = await c.store.db.selectFrom('audit_events').select('action').execute();
      assert.ok(audits.some((a) => a.action === 'user.signup'));
      await assert.rejects(signUp(c, { email: e, password: GOOD_PASSWORD }, CTX), code('CONFLICT_ERROR'));
      await assert.rejects(
        signUp(c, { email: 'not-an-email', password: GOOD_PASSWORD }, CTX),
        code('VALIDATION_ERROR'),
      );
      await assert.rejects(signUp(c, { email: email(), password: 'short' }, CTX), code('VALIDATION_ERROR'));
    });

    it('concurrent sign-ups with one email: exactly one account, the rest CONFLICT_ERROR', async () => {
      const { c } = await setup();
      const e = email();
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => signUp(c, { email: e, password: GOOD_PASSWORD }, CTX)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') code('CONFLICT_ERROR', /email/)(r.reason);
      const rows = await c.store.db.selectFrom('users').select('id').where('email', '=', e).execute();
      assert.equal(rows.length, 1);
      assert.equal((await outbox(c, 'user.created')).length, 1, 'no event for the sign-ups that rolled back');
    });

    it('a taken username is a CONFLICT_ERROR about the username, and leaves nothing behind', async () => {
      const { c } = await setup();
      await signUp(c, { email: email(), password: GOOD_PASSWORD, username: 'ada' }, CTX);
      const e = email();
      await assert.rejects(
        signUp(c, { email: e, password: GOOD_PASSWORD, username: 'ada' }, CTX),
        code('CONFLICT_ERROR', /username/),
      );
      assert.equal(await users.findByEmail(c.store.db, e), undefined);
      assert.equal((await outbox(c, 'user.created')).length, 1);
    });

    it('signIn: right password works; wrong password and unknown email get the same answer', async () => {
      const { c, clock } = await setup();
      const e = email();
      await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      clock.advance(MIN);
      const s = await signIn(c, { email: e.toUpperCase(), password: GOOD_PASSWORD }, CTX);
      assert.equal(s.user.lastSignInAt?.getTime(), clock.now().getTime());
      assert.equal(
        (await users.findById(c.store.db, s.user.id))?.lastSignInAt?.getTime(),
        clock.now().getTime(),
      );
      let wrong: unknown;
      let unknown: unknown;
      await signIn(c, { email: e, password: `${GOOD_PASSWORD}x` }, CTX).catch((err) => {
        wrong = err;
      });
      await signIn(c, { email: email(), password: GOOD_PASSWORD }, CTX).catch((err) => {
        unknown = err;
      });
      code('AUTHENTICATION_ERROR')(wrong);
      code('AUTHENTICATION_ERROR')(unknown);
      assert.equal((wrong as Error).message, (unknown as Error).message);
    });

    it('the access token expires after accessTokenMinutes', async () => {
      const { c, clock } = await setup({ JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '15' });
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      clock.advance(15 * MIN - 1000);
      assert.equal((await authenticate(c, s.tokens.access_token)).user.id, s.user.id);
      // Past exp, still within the leeway for clock skew between nodes (JWT_CLOCK_SKEW_SECONDS)…
      clock.advance(1000 + c.config.clockSkewSeconds * 1000 - 1000);
      assert.equal((await authenticate(c, s.tokens.access_token)).user.id, s.user.id);
      // …and past the leeway too.
      clock.advance(2000);
      await assert.rejects(authenticate(c, s.tokens.access_token), code('TOKEN_ERROR', /expired/));
      // The session itself is still live: a refresh gives a new, working access token.
      const r = await refresh(c, s.tokens.refresh_token, CTX);
      assert.equal((await authenticate(c, r.tokens.access_token)).session.id, s.session.id);
    });

    it('the session expires after refreshTokenDays unless refreshed', async () => {
      const { c, clock } = await setup({
        JWT_REFRESH_TOKEN_EXPIRE_DAYS: '1',
        JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '4320',
      });
      const a = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      assert.equal(a.session.expiresAt.getTime(), clock.now().getTime() + DAY);
      // A refresh half-way extends the session by a full day from then.
      clock.advance(12 * HOUR);
      const r = await refresh(c, a.tokens.refresh_token, CTX);
      assert.equal(r.session.expiresAt.getTime(), clock.now().getTime() + DAY);
      clock.advance(13 * HOUR); // past the original expiry, within the extended one
      assert.equal((await authenticate(c, r.tokens.access_token)).session.id, a.session.id);
      clock.advance(11 * HOUR); // exactly a day after the refresh
      await assert.rejects(
        authenticate(c, r.tokens.access_token),
        code('TOKEN_ERROR', /Session has expired/),
      );
      await assert.rejects(
        refresh(c, r.tokens.refresh_token, CTX),
        code('TOKEN_ERROR', /Invalid or expired/),
      );
    });

    it('refresh rotates the token; replaying a spent token revokes the whole session', async () => {
      const { c, clock } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      clock.advance(MIN);
      const r1 = await refresh(c, s.tokens.refresh_token, CTX);
      assert.notEqual(r1.tokens.refresh_token, s.tokens.refresh_token);
      assert.equal(r1.session.id, s.session.id);
      clock.advance(MIN);
      await assert.rejects(refresh(c, s.tokens.refresh_token, CTX), code('TOKEN_ERROR', /already used/));
      const session = await sessions.findById(c.store.db, s.session.id);
      assert.equal(session?.revokeReason, 'refresh_token_reuse');
      await assert.rejects(refresh(c, r1.tokens.refresh_token, CTX), code('TOKEN_ERROR'));
      await assert.rejects(authenticate(c, r1.tokens.access_token), code('TOKEN_ERROR', /revoked/));
      await assert.rejects(refresh(c, 'garbage', CTX), code('TOKEN_ERROR'));
      await assert.rejects(refresh(c, '', CTX), code('TOKEN_ERROR'));
      const revokedEvents = await outbox(c, 'session.revoked');
      assert.equal(revokedEvents.length, 1);
    });

    it('concurrent refreshes: each session rotates once; one token presented twice at once is reuse', async () => {
      const { c, clock } = await setup();
      const a = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const b = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const d = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      clock.advance(MIN);
      // b's session is revoked just before: its refresh must be refused as invalid, not taken for reuse,
      // and must not spend anything in the rotations it shares a transaction with.
      await sessions.revoke(c.store.db, [b.session.id], 'test', clock.now());
      const results = await Promise.allSettled([
        refresh(c, a.tokens.refresh_token, CTX),
        refresh(c, b.tokens.refresh_token, CTX),
        refresh(c, d.tokens.refresh_token, CTX),
        refresh(c, d.tokens.refresh_token, CTX),
        refresh(c, d.tokens.refresh_token, CTX),
      ]);
      assert.equal(results[0]!.status, 'fulfilled');
      assert.equal(results[1]!.status, 'rejected');
      assert.match(String((results[1] as PromiseRejectedResult).reason.message), /Invalid or expired/);
      const dOk = results.slice(2).filter((r) => r.status === 'fulfilled');
      assert.equal(dOk.length, 1, 'one of three presentations of the same token rotates it');
      const dReuse = results
        .slice(2)
        .filter((r) => r.status === 'rejected' && /already used/.test(String(r.reason?.message)));
      assert.equal(dReuse.length, 2);
      assert.equal((await sessions.findById(c.store.db, d.session.id))?.revokeReason, 'refresh_token_reuse');
      assert.equal((await sessions.findById(c.store.db, a.session.id))?.revokedAt, null);
      assert.equal((await sessions.findById(c.store.db, b.session.id))?.revokeReason, 'test');
      const a2 = (results[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof refresh>>>).value;
      assert.equal((await authenticate(c, a2.tokens.access_token)).session.id, a.session.id);
      clock.advance(MIN);
      const a3 = await refresh(c, a2.tokens.refresh_token, CTX);
      assert.equal(a3.session.id, a.session.id);
    });

    it('a new sign-in beyond maxSessionsPerUser revokes the oldest session', async () => {
      const { c, clock } = await setup({ MAX_SESSIONS_PER_USER: '2' });
      const e = email();
      const s1 = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      clock.advance(1000);
      const s2 = await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX);
      clock.advance(1000);
      const s3 = await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX);
      await assert.rejects(authenticate(c, s1.tokens.access_token), code('TOKEN_ERROR', /revoked/));
      assert.equal((await authenticate(c, s2.tokens.access_token)).session.id, s2.session.id);
      assert.equal((await authenticate(c, s3.tokens.access_token)).session.id, s3.session.id);
      const live = await sessions.listLive(c.store.db, s1.user.id, clock.now());
      assert.deepEqual(
        live.map((x) => x.id),
        [s3.session.id, s2.session.id],
      );
      assert.equal((await sessions.findById(c.store.db, s1.session.id))?.revokeReason, 'session_limit');
      await assert.rejects(refresh(c, s1.tokens.refresh_token, CTX), code('TOKEN_ERROR'));
    });

    it('a suspended user cannot sign in, authenticate or refresh; a wrong password still looks the same', async () => {
      const { c, clock } = await setup();
      const e = email();
      const s = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      await users.update(c.store.db, s.user.id, { status: 'suspended' }, clock.now());
      await assert.rejects(
        signIn(c, { email: e, password: GOOD_PASSWORD }, CTX),
        code('AUTHORIZATION_ERROR'),
      );
      await assert.rejects(
        signIn(c, { email: e, password: 'Wrong-password-1' }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      await assert.rejects(authenticate(c, s.tokens.access_token), code('TOKEN_ERROR', /not active/));
      await assert.rejects(refresh(c, s.tokens.refresh_token, CTX), code('TOKEN_ERROR'));
    });

    it('signOut ends this session; signOut all ends every session', async () => {
      const { c, clock } = await setup();
      const e = email();
      const a = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      clock.advance(1000);
      const b = await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX);
      clock.advance(1000);
      const d = await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const who = (x: typeof a) => ({ userId: x.user.id, sessionId: x.session.id });
      assert.deepEqual(await signOut(c, who(a), {}, CTX), { revoked: 1 });
      await assert.rejects(authenticate(c, a.tokens.access_token), code('TOKEN_ERROR', /revoked/));
      await assert.rejects(refresh(c, a.tokens.refresh_token, CTX), code('TOKEN_ERROR'));
      assert.equal((await authenticate(c, b.tokens.access_token)).session.id, b.session.id);
      assert.deepEqual(await signOut(c, who(a), {}, CTX), { revoked: 0 }, 'already signed out');
      assert.deepEqual(await signOut(c, who(b), { all: true }, CTX), { revoked: 2 });
      await assert.rejects(authenticate(c, b.tokens.access_token), code('TOKEN_ERROR'));
      await assert.rejects(authenticate(c, d.tokens.access_token), code('TOKEN_ERROR'));
      assert.equal((await outbox(c, 'session.revoked')).length, 3);
    });

    it('five failed sign-ins lock the email for lockoutMinutes, even for the right password', async () => {
      const { c, clock } = await setup();
      const e = email();
      await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          signIn(c, { email: e, password: 'Wrong-password-1' }, CTX),
          code('AUTHENTICATION_ERROR'),
        );
      }
      await assert.rejects(signIn(c, { email: e, password: GOOD_PASSWORD }, CTX), (err: unknown) => {
        code('AUTHENTICATION_ERROR', /Too many/)(err);
        assert.ok(isJanuaError(err) && err.retryAfter !== undefined && err.retryAfter >= 1);
        return true;
      });
      clock.advance(15 * MIN);
      assert.ok((await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX)).tokens.access_token);
    });

    it('parallel wrong guesses cannot exceed the lockout limit', async () => {
      const { c } = await setup();
      const e = email();
      await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, () => signIn(c, { email: e, password: 'Wrong-password-1' }, CTX)),
      );
      assert.ok(results.every((r) => r.status === 'rejected'));
      const audits = await c.store.db
        .selectFrom('audit_events')
        .select('metadata')
        .where('action', '=', 'auth.signin')
        .where('outcome', '=', 'failure')
        .execute();
      const compared = audits.filter((a) => JSON.stringify(a.metadata).includes('invalid_credentials'));
      assert.ok(compared.length <= 5, `at most 5 passwords compared, got ${compared.length}`);
      await assert.rejects(
        signIn(c, { email: e, password: GOOD_PASSWORD }, CTX),
        code('AUTHENTICATION_ERROR', /Too many/),
      );
    });
  });
}
