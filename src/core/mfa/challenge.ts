/**
 * The second step of a sign-in. A first factor (password, magic link) that proves the user but finds a second
 * factor — or an organization that requires one the user lacks — issues an `mfa_token` instead of tokens: 256
 * random bits, only the SHA-256 stored, 5 minutes (API.md contract notes), single use, bound to the user and
 * the sign-in's user agent. It is opaque, never a JWT, so no bearer check accepts it. `POST /api/v1/mfa/verify`
 * exchanges it with a code for the normal token response.
 */
import { randomUUID } from 'node:crypto';
import { type SignedIn, signInSession, tokenPair } from '../auth/service.js';
import { hashToken, randomToken } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import { JanuaError, tokenError, unauthenticated } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import {
  type ChallengePurpose,
  type MfaChallenge,
  mfaChallenges,
  orgsRequiringMfa,
} from '../store/repos/mfa.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import type { User } from '../users/model.js';
import { acceptCode, beginCodeAttempt, prepareCode, signInLocked } from './codes.js';
import { type MfaMethod, secondFactorMethods } from './factors.js';

export const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Wrong codes one mfa_token takes before it is spent (the account lockout applies as well). */
export const MFA_TOKEN_MAX_FAILURES = 5;

/** A sign-in that needs a second factor (or an enrolment) before tokens are issued. */
export interface MfaRequired {
  mfaRequired: true;
  user: User;
  mfaToken: string;
  methods: MfaMethod[];
  /** True when the user has no factor but an organization of theirs requires one: enrol first. */
  enrollmentRequired: boolean;
  expiresAt: Date;
}

export type SignInResult = SignedIn | MfaRequired;

export function isMfaRequired(r: SignInResult): r is MfaRequired {
  return 'mfaRequired' in r;
}

/**
 * What a user who just proved a first factor must still do: nothing (undefined), verify one of `methods`, or
 * enrol (no factor, but an organization of theirs requires MFA). The one place sign-in asks this.
 */
export async function secondStep(
  ex: Executor,
  userId: string,
): Promise<{ methods: MfaMethod[]; enrollment: boolean } | undefined> {
  const methods = await secondFactorMethods(ex, userId);
  if (methods.length) return { methods, enrollment: false };
  if ((await orgsRequiringMfa(ex, userId)) > 0) return { methods: [], enrollment: true };
  return undefined;
}

/** Issues the mfa_token in the caller's transaction (audited). */
export async function issueChallenge(
  tx: Executor,
  user: User,
  step: { methods: MfaMethod[]; enrollment: boolean },
  method: string,
  ctx: RequestContext,
  now: Date,
): Promise<MfaRequired> {
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + MFA_TOKEN_TTL_MS);
  const purpose: ChallengePurpose = step.enrollment ? 'enroll' : 'signin';
  await mfaChallenges.insert(tx, {
    id: randomUUID(),
    tokenHash: hashToken(token),
    userId: user.id,
    purpose,
    method,
    ip: ctx.ip ?? null,
    userAgent: boundAgent(ctx),
    createdAt: now,
    expiresAt,
  });
  const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
  await audit(
    tx,
    uctx,
    {
      action: step.enrollment ? 'auth.mfa.enrollment_required' : 'auth.mfa.challenge',
      targetType: 'user',
      targetId: user.id,
      metadata: { method },
    },
    now,
  );
  return {
    mfaRequired: true,
    user,
    mfaToken: token,
    methods: step.methods,
    enrollmentRequired: step.enrollment,
    expiresAt,
  };
}

/** The user agent a challenge is bound to (as stored: at most 512 characters). */
const boundAgent = (ctx: RequestContext) => ctx.userAgent?.slice(0, 512) ?? null;

const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;
export const invalidMfaToken = () => tokenError('Invalid or expired MFA token');

/**
 * The live challenge of this purpose for this token, from the same user agent, whose user is still active —
 * or TOKEN_ERROR alike for every way it can be wrong (unknown, expired, spent, other purpose, other client).
 */
export async function liveChallenge(
  deps: Pick<Deps, 'store' | 'clock'>,
  token: string,
  purpose: ChallengePurpose | readonly ChallengePurpose[],
  ctx: RequestContext,
): Promise<{ challenge: MfaChallenge; user: User }> {
  if (!TOKEN_RE.test(token)) throw invalidMfaToken();
  const challenge = await mfaChallenges.findLive(deps.store.db, hashToken(token), deps.clock.now());
  const purposes: readonly ChallengePurpose[] = typeof purpose === 'string' ? [purpose] : purpose;
  if (!challenge || !purposes.includes(challenge.purpose) || challenge.userAgent !== boundAgent(ctx))
    throw invalidMfaToken();
  const user = await users.findById(deps.store.db, challenge.userId);
  if (user?.status !== 'active') throw invalidMfaToken();
  return { challenge, user };
}

type VerifyDeps = Pick<
  Deps,
  'config' | 'store' | 'clock' | 'keys' | 'hasher' | 'metrics' | 'box' | 'peppers'
>;

/** Thrown inside the transaction to roll back a spent challenge when the code turns out wrong. */
class WrongCode extends Error {}

/**
 * Completes a sign-in: a TOTP or backup code for the challenge's user spends the challenge and the code and
 * opens the session, in one transaction. A wrong code leaves the challenge live (until it has taken
 * MFA_TOKEN_MAX_FAILURES) and counts toward the account lockout.
 */
export async function verifyMfaSignIn(
  deps: VerifyDeps,
  input: { mfaToken: string; code: string },
  ctx: RequestContext,
): Promise<SignedIn> {
  const { challenge, user } = await liveChallenge(deps, input.mfaToken, 'signin', ctx);
  const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
  const attempt = await beginCodeAttempt(deps, user.email, uctx, user.id, 'auth.mfa.verify', signInLocked);
  const prepared = await prepareCode(deps, user.id, input.code, deps.clock.now(), {
    status: 'active',
    allowBackup: true,
  });
  const now = deps.clock.now();
  const refresh = randomToken();
  try {
    const session = await deps.store.transaction(async (tx) => {
      if (!(await mfaChallenges.consume(tx, challenge.id, now))) throw invalidMfaToken();
      if (!(await acceptCode(tx, user.id, prepared, now))) throw new WrongCode();
      await attempt.succeed(tx);
      return signInSession(deps, tx, user, refresh, uctx, now, {
        method: challenge.method,
        mfa: prepared.method,
      });
    });
    return {
      user: { ...user, lastSignInAt: now },
      session,
      tokens: await tokenPair(deps, user, session.id, refresh),
    };
  } catch (err) {
    if (!(err instanceof WrongCode)) throw err;
    await attempt.fail(async (tx) => {
      await mfaChallenges.countFailure(tx, challenge.id, MFA_TOKEN_MAX_FAILURES, now);
    });
    throw unauthenticated('Invalid verification code');
  }
}

/** Sign-in entry points that cannot answer an MFA challenge (the CLI, older callers) refuse with this. */
export const secondFactorNeeded = () =>
  new JanuaError('AUTHENTICATION_ERROR', 'A second factor is required: sign in through the API');
