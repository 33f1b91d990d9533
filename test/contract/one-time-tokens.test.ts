/**
 * One-time tokens of the email flows on every dialect: single use (atomic under parallel use), bound to one
 * purpose, expiring, stored only as a hash, spent by a newer token of the same purpose and by a password
 * change — and the flows built on them (reset confirm, magic link, verification, email change).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { confirmEmailChange, requestEmailChange } from '../../src/core/auth/flows/email-change.js';
import { verifyMagicLink } from '../../src/core/auth/flows/magic-link.js';
import { changePassword, confirmPasswordReset } from '../../src/core/auth/flows/password.js';
import {
  consumeToken,
  issueToken,
  TOKEN_LIFETIME_MS,
  type TokenPurpose,
} from '../../src/core/auth/flows/tokens.js';
import { resendVerification, verifyEmail } from '../../src/core/auth/flows/verification.js';
import { authenticate, signIn, signUp } from '../../src/core/auth/service.js';
import type { Container } from '../../src/core/container.js';
import { hashToken } from '../../src/core/crypto/secrets.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import type { RequestContext } from '../../src/core/events/events.js';
import { cleanupSessions } from '../../src/core/jobs/cleanup.js';
import { passwordCredentials } from '../../src/core/store/repos/credentials.js';
import { users } from '../../src/core/store/repos/users.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { HOUR, MIN } from '../helpers/store.js';

const CTX: RequestContext = { ip: '192.0.2.20', userAgent: 'contract-test', requestId: 'req-ott' };
const NEW_PASSWORD = 'AnotherPass456?y';

function code(expected: ErrorCode) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    return true;
  };
}

let n = 0;
const email = () => `ott${++n}.${Date.now().toString(36)}@example.com`;

for (const dialect of dialects()) {
  describe(`one-time tokens (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function setup(env: Record<string, string> = {}) {
      const t = await testContainer(dialect, env);
      open.push(t);
      return t;
    }
    async function issue(c: Container, userId: string, purpose: TokenPurpose, to = 'x@example.com') {
      return c.store.transaction((tx) => issueToken(tx, { userId, purpose, email: to }, c.clock.now()));
    }
    function consume(c: Container, purpose: TokenPurpose, token: string) {
      return c.store.transaction((tx) => consumeToken(tx, purpose, token, c.clock.now()));
    }

    it('is 256 random bits, stored only as its SHA-256, with the lifetime of its purpose', async () => {
      const { c } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      for (const [purpose, ms] of Object.entries(TOKEN_LIFETIME_MS) as Array<[TokenPurpose, number]>) {
        const { id, token, expiresAt } = await issue(c, s.user.id, purpose);
        assert.equal(Buffer.from(token, 'base64url').length, 32, 'at least 128 bits; here 256');
        const row = await c.store.db
          .selectFrom('one_time_tokens')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        assert.equal(row.token_hash, hashToken(token));
        assert.ok(!JSON.stringify(row).includes(token), 'the token itself is not stored');
        assert.equal(expiresAt.getTime() - c.clock.now().getTime(), ms);
      }
      assert.equal(TOKEN_LIFETIME_MS.magic_link, 15 * MIN);
      assert.equal(TOKEN_LIFETIME_MS.password_reset, HOUR);
      assert.equal(TOKEN_LIFETIME_MS.email_verify, 48 * HOUR);
    });

    it('cleanup.sessions deletes links a day past their expiry, spent or not, and keeps live ones', async () => {
      const { c, clock } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const magic = await issue(c, s.user.id, 'magic_link');
      await consume(c, 'magic_link', magic.token);
      const reset = await issue(c, s.user.id, 'password_reset');
      clock.advance(HOUR + 24 * HOUR + MIN);
      const verify = await issue(c, s.user.id, 'email_verify');
      await cleanupSessions(c.store.db, clock.now());
      const left = await c.store.db.selectFrom('one_time_tokens').select('id').execute();
      const ids = left.map((r) => r.id);
      assert.ok(!ids.includes(magic.id) && !ids.includes(reset.id), 'expired links deleted');
      assert.ok(ids.includes(verify.id), 'a live link is kept');
    });

    it('works once: a reused token is refused', async () => {
      const { c } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'password_reset');
      const used = await consume(c, 'password_reset', token);
      assert.equal(used.userId, s.user.id);
      await assert.rejects(consume(c, 'password_reset', token), code('TOKEN_ERROR'));
    });

    it('expires: usable until its lifetime ends, refused from then on', async () => {
      const { c, clock } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const a = await issue(c, s.user.id, 'magic_link');
      clock.advance(15 * MIN - 1);
      assert.equal((await consume(c, 'magic_link', a.token)).id, a.id);
      const b = await issue(c, s.user.id, 'magic_link');
      clock.advance(15 * MIN);
      await assert.rejects(consume(c, 'magic_link', b.token), code('TOKEN_ERROR'));
    });

    it('a tampered, truncated or malformed token is refused and spends nothing', async () => {
      const { c } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'password_reset');
      const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
      for (const bad of [
        flipped,
        token.slice(0, -1),
        `${token}x`,
        '',
        'a\u0000b',
        "' OR 1=1 --",
        'x'.repeat(200),
      ])
        await assert.rejects(consume(c, 'password_reset', bad), code('TOKEN_ERROR'), JSON.stringify(bad));
      assert.equal((await consume(c, 'password_reset', token)).userId, s.user.id, 'the real one still works');
    });

    it('is bound to its purpose: a reset token is not a magic link (and stays a usable reset token)', async () => {
      const { c } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'password_reset');
      for (const other of ['magic_link', 'email_verify', 'email_change'] as const)
        await assert.rejects(consume(c, other, token), code('TOKEN_ERROR'), other);
      assert.equal((await consume(c, 'password_reset', token)).purpose, 'password_reset');
    });

    it('parallel uses of one token: exactly one succeeds', async () => {
      const { c } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'magic_link');
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => consume(c, 'magic_link', token)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(code('TOKEN_ERROR')(r.reason));
    });

    it('a newer token of the same purpose spends the older one; other purposes are untouched', async () => {
      const { c } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const older = await issue(c, s.user.id, 'password_reset');
      const magic = await issue(c, s.user.id, 'magic_link');
      const newer = await issue(c, s.user.id, 'password_reset');
      await assert.rejects(consume(c, 'password_reset', older.token), code('TOKEN_ERROR'));
      const row = await c.store.db
        .selectFrom('one_time_tokens')
        .select('consume_reason')
        .where('id', '=', older.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.consume_reason, 'superseded');
      assert.equal((await consume(c, 'password_reset', newer.token)).id, newer.id);
      assert.equal((await consume(c, 'magic_link', magic.token)).id, magic.id);
    });

    it('a password change spends every outstanding token of the user (and only theirs)', async () => {
      const { c } = await setup();
      const a = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const b = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const reset = await issue(c, a.user.id, 'password_reset');
      const magic = await issue(c, a.user.id, 'magic_link');
      const theirs = await issue(c, b.user.id, 'password_reset');
      await changePassword(
        c,
        { userId: a.user.id, sessionId: a.session.id },
        { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD },
        CTX,
      );
      await assert.rejects(consume(c, 'password_reset', reset.token), code('TOKEN_ERROR'));
      await assert.rejects(consume(c, 'magic_link', magic.token), code('TOKEN_ERROR'));
      assert.equal((await consume(c, 'password_reset', theirs.token)).userId, b.user.id);
      // Any path that sets a password (an admin's too) goes through the credential repository.
      const later = await issue(c, b.user.id, 'magic_link');
      await c.store.transaction((tx) =>
        passwordCredentials.set(tx, b.user.id, 'x'.repeat(60), c.clock.now()),
      );
      await assert.rejects(consume(c, 'magic_link', later.token), code('TOKEN_ERROR'));
    });

    it('the per-address limit holds under parallel requests: they are counted one at a time', async () => {
      const { c } = await setup({ FLOW_MAILS_PER_HOUR: '3' });
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      // Sign-up sent one already; five more asked for at once: two fit, three are refused.
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => resendVerification(c, s.user, null, CTX)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
      for (const r of results) if (r.status === 'rejected') assert.ok(code('RATE_LIMIT_ERROR')(r.reason));
      const rows = await c.store.db
        .selectFrom('one_time_tokens')
        .select('id')
        .where('user_id', '=', s.user.id)
        .where('purpose', '=', 'email_verify')
        .execute();
      assert.equal(rows.length, 3);
    });

    it('reset confirm: policy enforced before the token is spent; success ends every session; parallel: one wins', async () => {
      const { c } = await setup();
      const e = email();
      const s = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const other = await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'password_reset', e);
      await assert.rejects(
        confirmPasswordReset(c, { token, newPassword: 'short' }, CTX),
        code('VALIDATION_ERROR'),
      );
      const results = await Promise.allSettled(
        [NEW_PASSWORD, `${NEW_PASSWORD}z`].map((p) =>
          confirmPasswordReset(c, { token, newPassword: p }, CTX),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const t of [s.tokens.access_token, other.tokens.access_token])
        await assert.rejects(authenticate(c, t), code('TOKEN_ERROR'));
      const winner = results.findIndex((r) => r.status === 'fulfilled');
      const pw = winner === 0 ? NEW_PASSWORD : `${NEW_PASSWORD}z`;
      await signIn(c, { email: e, password: pw }, CTX);
      await assert.rejects(
        signIn(c, { email: e, password: GOOD_PASSWORD }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      const events = await c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('event_type', '=', 'security.password.reset')
        .execute();
      assert.equal(events.length, 1);
    });

    it('password change: wrong current password is a 422 and changes nothing; the caller keeps their session', async () => {
      const { c } = await setup();
      const e = email();
      const s = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const other = await signIn(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const who = { userId: s.user.id, sessionId: s.session.id };
      await assert.rejects(
        changePassword(c, who, { currentPassword: 'WrongPass123!x', newPassword: NEW_PASSWORD }, CTX),
        code('VALIDATION_ERROR'),
      );
      await authenticate(c, other.tokens.access_token);
      const done = await changePassword(
        c,
        who,
        { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD },
        CTX,
      );
      assert.equal(done.sessionsRevoked, 1);
      await authenticate(c, s.tokens.access_token);
      await assert.rejects(authenticate(c, other.tokens.access_token), code('TOKEN_ERROR'));
      await signIn(c, { email: e, password: NEW_PASSWORD }, CTX);
    });

    it('verification marks the address verified once, emits user.verified; a link for an old address verifies nothing', async () => {
      const { c } = await setup();
      const e = email();
      const s = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'email_verify', e);
      const v = await verifyEmail(c, token, CTX);
      assert.equal(v.user.emailVerified, true);
      await assert.rejects(verifyEmail(c, token, CTX), code('TOKEN_ERROR'));
      const evs = await c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('event_type', '=', 'user.verified')
        .execute();
      assert.equal(evs.length, 1);
      const stale = await issue(c, s.user.id, 'email_verify', 'old-address@example.com');
      await assert.rejects(verifyEmail(c, stale.token, CTX), code('TOKEN_ERROR'));
    });

    it('magic link signs in once and verifies the address', async () => {
      const { c } = await setup();
      const e = email();
      const s = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      const { token } = await issue(c, s.user.id, 'magic_link', e);
      const results = await Promise.allSettled([
        verifyMagicLink(c, token, CTX),
        verifyMagicLink(c, token, CTX),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 1);
      const signedIn = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof verifyMagicLink>>>).value;
      assert.equal(signedIn.user.emailVerified, true);
      const auth = await authenticate(c, signedIn.tokens.access_token);
      assert.equal(auth.user.id, s.user.id);
    });

    it('email change: nothing changes until confirmed; a taken address is a 409 that leaves the link usable', async () => {
      const { c } = await setup();
      const e = email();
      const next = email();
      const s = await signUp(c, { email: e, password: GOOD_PASSWORD }, CTX);
      await assert.rejects(
        requestEmailChange(c, s.user, { newEmail: next, password: 'WrongPass123!x' }, CTX),
        code('VALIDATION_ERROR'),
      );
      await requestEmailChange(c, s.user, { newEmail: next, password: GOOD_PASSWORD }, CTX);
      assert.equal((await users.findById(c.store.db, s.user.id))?.email, e, 'unchanged until confirmed');
      // The link itself (the mail carries it) is not readable back; issue one to drive the confirm step.
      const { token } = await issue(c, s.user.id, 'email_change', next);
      const squatter = await signUp(c, { email: next, password: GOOD_PASSWORD }, CTX);
      await assert.rejects(confirmEmailChange(c, token, CTX), code('CONFLICT_ERROR'));
      await c.store.db.deleteFrom('users').where('id', '=', squatter.user.id).execute();
      const done = await confirmEmailChange(c, token, CTX);
      assert.equal(done.user.email, next);
      assert.equal(done.user.emailVerified, true);
      await assert.rejects(confirmEmailChange(c, token, CTX), code('TOKEN_ERROR'));
    });
  });
}
