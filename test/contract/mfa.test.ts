/**
 * TOTP MFA in core, on every dialect: enrolment, the sign-in challenge, the replay guard (also under two
 * parallel verifies of one code), the ±1 step window, backup codes, the mfa_token's lifetime and single use,
 * the lockout that wrong codes share with passwords, the organization requirement and the admin reset.
 * Codes are computed with otplib, independently of the server's path.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { generate } from 'otplib';
import { verifyMagicLinkWithMfa } from '../../src/core/auth/flows/magic-link.js';
import { issueToken } from '../../src/core/auth/flows/tokens.js';
import { authenticate, signIn, signInWithMfa, signUp } from '../../src/core/auth/service.js';
import type { FixedClock } from '../../src/core/clock.js';
import type { Container } from '../../src/core/container.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import { CLI_CONTEXT, type RequestContext } from '../../src/core/events/events.js';
import { cleanupSessions } from '../../src/core/jobs/cleanup.js';
import { resetMfa } from '../../src/core/mfa/admin.js';
import {
  isMfaRequired,
  MFA_TOKEN_TTL_MS,
  type MfaRequired,
  type SignInResult,
  verifyMfaSignIn,
} from '../../src/core/mfa/challenge.js';
import {
  confirmTotp,
  disableTotp,
  mfaStatus,
  regenerateBackupCodes,
  startTotp,
} from '../../src/core/mfa/enroll.js';
import { hasSecondFactor } from '../../src/core/mfa/factors.js';
import { completeEnrollmentSignIn, startEnrollmentSignIn } from '../../src/core/mfa/signin.js';
import { addMember, createOrganization, updateOrganization } from '../../src/core/orgs/service.js';
import { CLI_ACTOR } from '../../src/core/rbac/access.js';
import { users } from '../../src/core/store/repos/users.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { MIN } from '../helpers/store.js';

const CTX: RequestContext = { ip: '192.0.2.30', userAgent: 'mfa-contract-test', requestId: 'req-mfa' };
const STEP_MS = 30_000;

function code(expected: ErrorCode) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    return true;
  };
}

/** The code of `secret` for the step `offset` steps from `at` (otplib, as an authenticator app computes it). */
function totpAt(secret: string, at: Date, offset = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(at.getTime() / 1000) + offset * 30 });
}

let n = 0;
const email = () => `mfa${++n}.${Date.now().toString(36)}@example.com`;

function challenge(r: SignInResult): MfaRequired {
  assert.ok(isMfaRequired(r), 'expected an MFA challenge, got tokens');
  return r;
}

for (const dialect of dialects()) {
  describe(`TOTP MFA (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });

    async function setup(env: Record<string, string> = {}) {
      const t = await testContainer(dialect, env);
      open.push(t);
      // The middle of a time-step, so ±1 step is exactly one step either side.
      t.clock.set(new Date(Math.floor(Date.now() / STEP_MS) * STEP_MS + 10_000));
      return t;
    }

    /** A user with an active TOTP factor: their secret and backup codes. */
    async function enrolled(c: Container, clock: FixedClock) {
      const addr = email();
      const s = await signUp(c, { email: addr, password: GOOD_PASSWORD }, CTX);
      const e = await startTotp(c, s.user, { session: s.session }, CTX);
      const confirmed = await confirmTotp(
        c,
        s.user,
        await totpAt(e.secret, clock.now()),
        { issueBackupCodes: true },
        CTX,
      );
      // The confirmation spent the current step; later sign-ins use later steps.
      clock.advance(STEP_MS);
      return {
        user: s.user,
        email: addr,
        secret: e.secret,
        backupCodes: confirmed.backupCodes!,
        accessToken: s.tokens.access_token,
      };
    }

    it('enrolment: pending until a valid code confirms it; seed sealed; event, audit, mfa_enabled, 10 backup codes', async () => {
      const { c, clock } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const e = await startTotp(c, s.user, { session: s.session }, CTX);
      assert.match(e.secret, /^[A-Z2-7]{32}$/, '20 random bytes in Base32');
      assert.match(e.otpauthUri, /^otpauth:\/\/totp\/Janua:/);
      assert.ok(e.otpauthUri.includes(`secret=${e.secret}`) && e.otpauthUri.includes('issuer=Janua'));
      assert.match(e.qrCode, /^data:image\/png;base64,/);
      const row = await c.store.db
        .selectFrom('mfa_totp_factors')
        .selectAll()
        .where('user_id', '=', s.user.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'pending');
      assert.ok(!row.seed_box.includes(e.secret), 'the seed is not stored in the clear');
      assert.equal(c.box.open('totp-seed', row.seed_box), e.secret);
      assert.equal(
        await hasSecondFactor(c.store.db, s.user.id),
        false,
        'a pending factor is no second factor',
      );
      assert.ok(
        !isMfaRequired(await signInWithMfa(c, { email: s.user.email, password: GOOD_PASSWORD }, CTX)),
      );

      await assert.rejects(
        confirmTotp(c, s.user, await totpAt(e.secret, clock.now(), 3), { issueBackupCodes: true }, CTX),
        code('VALIDATION_ERROR'),
      );
      const ok = await confirmTotp(
        c,
        s.user,
        await totpAt(e.secret, clock.now()),
        { issueBackupCodes: true },
        CTX,
      );
      assert.equal(ok.backupCodes?.length, 10);
      for (const b of ok.backupCodes!) assert.match(b, /^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      assert.equal(new Set(ok.backupCodes).size, 10);
      const stored = await c.store.db
        .selectFrom('mfa_backup_codes')
        .selectAll()
        .where('user_id', '=', s.user.id)
        .execute();
      assert.equal(stored.length, 10);
      for (const b of ok.backupCodes!) assert.ok(!JSON.stringify(stored).includes(b.replace('-', '')));
      assert.equal(await hasSecondFactor(c.store.db, s.user.id), true);
      assert.equal((await users.findById(c.store.db, s.user.id))?.mfaEnabled, true);
      const events = await c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('aggregate_id', '=', s.user.id)
        .execute();
      assert.ok(events.some((e) => e.event_type === 'security.mfa.enabled'));
      const audits = await c.store.db
        .selectFrom('audit_events')
        .select('action')
        .where('target_id', '=', s.user.id)
        .execute();
      assert.ok(audits.some((a) => a.action === 'security.mfa.enabled'));
      const st = await mfaStatus(c, s.user.id);
      assert.deepEqual([st.enabled, st.verified, st.backupCodesRemaining], [true, true, 10]);
      await assert.rejects(startTotp(c, s.user, { session: s.session }, CTX), code('CONFLICT_ERROR'));
    });

    it('enrolment needs the password unless the session signed in within MFA_RECENT_SIGNIN_MINUTES', async () => {
      const { c, clock } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      clock.advance(5 * MIN + 1000);
      await assert.rejects(startTotp(c, s.user, { session: s.session }, CTX), code('VALIDATION_ERROR'));
      await assert.rejects(
        startTotp(c, s.user, { session: s.session, password: 'wrong-password-1A!' }, CTX),
        code('VALIDATION_ERROR'),
      );
      const e = await startTotp(c, s.user, { session: s.session, password: GOOD_PASSWORD }, CTX);
      assert.ok(e.secret);
    });

    it('sign-in of a user with a factor answers a challenge and no tokens; a TOTP code completes it', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const ch = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      assert.deepEqual(ch.methods, ['totp', 'backup_code']);
      assert.equal(ch.enrollmentRequired, false);
      assert.equal(ch.expiresAt.getTime() - clock.now().getTime(), MFA_TOKEN_TTL_MS);
      assert.ok(!('tokens' in ch));
      await assert.rejects(
        signIn(c, { email: u.email, password: GOOD_PASSWORD }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      await assert.rejects(
        authenticate(c, ch.mfaToken),
        code('TOKEN_ERROR'),
        'an mfa_token is no access token',
      );
      const stored = await c.store.db
        .selectFrom('mfa_challenges')
        .selectAll()
        .where('user_id', '=', u.user.id)
        .execute();
      assert.ok(!JSON.stringify(stored).includes(ch.mfaToken), 'only the hash is stored');

      const done = await verifyMfaSignIn(
        c,
        { mfaToken: ch.mfaToken, code: await totpAt(u.secret, clock.now()) },
        CTX,
      );
      const auth = await authenticate(c, done.tokens.access_token);
      assert.equal(auth.user.id, u.user.id);
      // Single use.
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: await totpAt(u.secret, clock.now(), 1) }, CTX),
        code('TOKEN_ERROR'),
      );
    });

    it('the mfa_token is bound to the sign-in: another client, a malformed token, after 5 minutes → TOKEN_ERROR', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const ch = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      const good = await totpAt(u.secret, clock.now());
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: good }, { ...CTX, userAgent: 'other-client' }),
        code('TOKEN_ERROR'),
      );
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: 'not a token', code: good }, CTX),
        code('TOKEN_ERROR'),
      );
      clock.advance(MFA_TOKEN_TTL_MS + 1000);
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: await totpAt(u.secret, clock.now()) }, CTX),
        code('TOKEN_ERROR'),
      );
      // The cleanup job deletes expired challenges (a day past expiry, like other expired rows).
      const live = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      clock.advance(24 * 60 * MIN);
      await cleanupSessions(c.store.db, clock.now());
      const left = await c.store.db.selectFrom('mfa_challenges').select('user_id').execute();
      assert.equal(left.length, 1, 'only the newer challenge is left (expired, but within the grace day)');
      assert.ok(live.mfaToken);
    });

    it('replay guard: a code is accepted once; an older step after a newer one is refused', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const now = clock.now();
      const first = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      const current = await totpAt(u.secret, now);
      await verifyMfaSignIn(c, { mfaToken: first.mfaToken, code: current }, CTX);
      const again = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: again.mfaToken, code: current }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: again.mfaToken, code: await totpAt(u.secret, now, -1) }, CTX),
        code('AUTHENTICATION_ERROR'),
        'the previous step is older than the accepted one',
      );
      // The next step still works (the challenge survived the wrong codes).
      await verifyMfaSignIn(c, { mfaToken: again.mfaToken, code: await totpAt(u.secret, now, 1) }, CTX);
    });

    it('replay guard under concurrency: two parallel verifies of one code → exactly one session', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const a = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      const b = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      const same = await totpAt(u.secret, clock.now());
      const results = await Promise.allSettled([
        verifyMfaSignIn(c, { mfaToken: a.mfaToken, code: same }, CTX),
        verifyMfaSignIn(c, { mfaToken: b.mfaToken, code: same }, CTX),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(code('AUTHENTICATION_ERROR')(rejected.reason));
    });

    it('±1 step window: the previous and next step are accepted, two steps away is not', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const ahead = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ahead.mfaToken, code: await totpAt(u.secret, clock.now(), 2) }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      await verifyMfaSignIn(
        c,
        { mfaToken: ahead.mfaToken, code: await totpAt(u.secret, clock.now(), 1) },
        CTX,
      );

      const v = await enrolled(c, clock);
      // Three steps after the confirmation's step, so the replay guard does not decide the earlier steps.
      clock.advance(2 * STEP_MS);
      const behind = challenge(await signInWithMfa(c, { email: v.email, password: GOOD_PASSWORD }, CTX));
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: behind.mfaToken, code: await totpAt(v.secret, clock.now(), -2) }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      await verifyMfaSignIn(
        c,
        { mfaToken: behind.mfaToken, code: await totpAt(v.secret, clock.now(), -1) },
        CTX,
      );
    });

    it('backup codes: each works once, any spelling; regenerating invalidates the old set', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const [first, second] = u.backupCodes as [string, string];
      const ch = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      await verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: first.toLowerCase().replace('-', ' ') }, CTX);
      const again = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: again.mfaToken, code: first }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      assert.equal((await mfaStatus(c, u.user.id)).backupCodesRemaining, 9);

      const fresh = await regenerateBackupCodes(c, u.user, GOOD_PASSWORD, CTX);
      assert.equal(fresh.codes.length, 10);
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: again.mfaToken, code: second }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      await verifyMfaSignIn(c, { mfaToken: again.mfaToken, code: fresh.codes[0]! }, CTX);
      await assert.rejects(
        regenerateBackupCodes(c, u.user, 'Wrong-password-9', CTX),
        code('VALIDATION_ERROR'),
      );
    });

    it('wrong codes count toward the sign-in lockout; once locked even the right code is refused', async () => {
      const { c, clock } = await setup({ LOCKOUT_MAX_ATTEMPTS: '3' });
      const u = await enrolled(c, clock);
      const ch = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      // The password attempt counted one; two wrong codes reach three and lock.
      for (let i = 0; i < 2; i++)
        await assert.rejects(
          verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: '000000' }, CTX),
          code('AUTHENTICATION_ERROR'),
        );
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: await totpAt(u.secret, clock.now()) }, CTX),
        (err: unknown) => isJanuaError(err) && err.retryAfter !== undefined,
      );
      await assert.rejects(
        signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX),
        (err: unknown) => isJanuaError(err) && err.retryAfter !== undefined,
        'the password sign-in is locked too',
      );
      const audits = await c.store.db
        .selectFrom('audit_events')
        .select('action')
        .where('action', '=', 'auth.lockout')
        .execute();
      assert.ok(audits.length >= 1);
    });

    it('an mfa_token takes at most 5 wrong codes', async () => {
      const { c, clock } = await setup({ LOCKOUT_MAX_ATTEMPTS: '50' });
      const u = await enrolled(c, clock);
      const ch = challenge(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX));
      for (let i = 0; i < 5; i++)
        await assert.rejects(
          verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: '000000' }, CTX),
          code('AUTHENTICATION_ERROR'),
        );
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: await totpAt(u.secret, clock.now()) }, CTX),
        code('TOKEN_ERROR'),
      );
    });

    it('magic-link sign-in of a user with a factor answers a challenge too', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      const link = await c.store.transaction((tx) =>
        issueToken(tx, { userId: u.user.id, purpose: 'magic_link', email: u.email }, clock.now()),
      );
      const ch = challenge(await verifyMagicLinkWithMfa(c, link.token, CTX));
      const done = await verifyMfaSignIn(
        c,
        { mfaToken: ch.mfaToken, code: await totpAt(u.secret, clock.now()) },
        CTX,
      );
      assert.equal(done.user.id, u.user.id);
    });

    it('an organization that requires MFA: a member without a factor enrols with the mfa_token to sign in', async () => {
      const { c, clock } = await setup();
      const s = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const owner = await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX);
      const org = await createOrganization(
        c,
        CLI_ACTOR,
        { name: 'Strict', slug: `strict-${n}-${Date.now().toString(36)}`, ownerId: owner.user.id },
        CLI_CONTEXT,
      );
      await addMember(c, CLI_ACTOR, org.organization.id, { userId: s.user.id, role: 'member' }, CLI_CONTEXT);
      assert.ok(
        !isMfaRequired(await signInWithMfa(c, { email: s.user.email, password: GOOD_PASSWORD }, CTX)),
      );
      const upd = await updateOrganization(
        c,
        CLI_ACTOR,
        org.organization.id,
        { requireMfa: true },
        CLI_CONTEXT,
      );
      assert.equal(upd.organization.requireMfa, true);

      const ch = challenge(await signInWithMfa(c, { email: s.user.email, password: GOOD_PASSWORD }, CTX));
      assert.equal(ch.enrollmentRequired, true);
      assert.deepEqual(ch.methods, []);
      // The enrolment token is not a sign-in token.
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: ch.mfaToken, code: '123456' }, CTX),
        code('TOKEN_ERROR'),
      );
      const e = await startEnrollmentSignIn(c, ch.mfaToken, {}, CTX);
      const done = await completeEnrollmentSignIn(
        c,
        { mfaToken: ch.mfaToken, code: await totpAt(e.secret, clock.now()) },
        CTX,
      );
      assert.equal(done.backupCodes.length, 10);
      assert.equal((await authenticate(c, done.tokens.access_token)).user.id, s.user.id);
      await assert.rejects(startEnrollmentSignIn(c, ch.mfaToken, {}, CTX), code('TOKEN_ERROR'), 'spent');
      clock.advance(STEP_MS);
      const next = challenge(await signInWithMfa(c, { email: s.user.email, password: GOOD_PASSWORD }, CTX));
      assert.equal(next.enrollmentRequired, false, 'enrolled now: an ordinary challenge');
    });

    it('disable needs the password and a code; admin reset removes the factor and revokes sessions', async () => {
      const { c, clock } = await setup();
      const u = await enrolled(c, clock);
      await assert.rejects(
        disableTotp(
          c,
          u.user,
          { password: 'Wrong-password-9', code: await totpAt(u.secret, clock.now()) },
          CTX,
        ),
        code('VALIDATION_ERROR'),
      );
      await assert.rejects(
        disableTotp(c, u.user, { password: GOOD_PASSWORD, code: '000000' }, CTX),
        code('VALIDATION_ERROR'),
      );
      assert.equal(await hasSecondFactor(c.store.db, u.user.id), true, 'refusals change nothing');
      await disableTotp(
        c,
        u.user,
        { password: GOOD_PASSWORD, code: await totpAt(u.secret, clock.now()) },
        CTX,
      );
      assert.equal(await hasSecondFactor(c.store.db, u.user.id), false);
      assert.equal((await users.findById(c.store.db, u.user.id))?.mfaEnabled, false);
      assert.ok(!isMfaRequired(await signInWithMfa(c, { email: u.email, password: GOOD_PASSWORD }, CTX)));

      const v = await enrolled(c, clock);
      const pending = challenge(await signInWithMfa(c, { email: v.email, password: GOOD_PASSWORD }, CTX));
      const r = await resetMfa(c, v.user.id, CLI_CONTEXT);
      assert.equal(r.hadFactor, true);
      assert.ok(r.sessionsRevoked >= 1);
      await assert.rejects(authenticate(c, v.accessToken), code('TOKEN_ERROR'), 'the sessions are revoked');
      await assert.rejects(
        verifyMfaSignIn(c, { mfaToken: pending.mfaToken, code: await totpAt(v.secret, clock.now()) }, CTX),
        code('TOKEN_ERROR'),
        'outstanding challenges die with the factor',
      );
      const events = await c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('aggregate_id', '=', v.user.id)
        .execute();
      assert.ok(events.some((e) => e.event_type === 'security.mfa.disabled'));
      const audits = await c.store.db
        .selectFrom('audit_events')
        .select('action')
        .where('target_id', '=', v.user.id)
        .execute();
      assert.ok(audits.some((a) => a.action === 'security.mfa.reset'));
      assert.ok(!isMfaRequired(await signInWithMfa(c, { email: v.email, password: GOOD_PASSWORD }, CTX)));
    });
  });
}
