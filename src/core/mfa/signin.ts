/**
 * The enrolment sign-in: a member of an organization that requires MFA, without a factor, got an `enroll`
 * mfa_token at sign-in. That token only lets them enrol TOTP (`startTotp`) and confirm it; the confirmation
 * activates the factor, spends the token and opens the session in one transaction, answering the normal
 * token response (plus the new backup codes).
 */
import { type SignedIn, signInSession, tokenPair } from '../auth/service.js';
import { randomToken } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import type { RequestContext } from '../events/events.js';
import { mfaChallenges } from '../store/repos/mfa.js';
import { invalidMfaToken, liveChallenge } from './challenge.js';
import { signInLocked } from './codes.js';
import { confirmTotp, startTotp, type TotpEnrollment } from './enroll.js';

type SignInDeps = Pick<
  Deps,
  'config' | 'store' | 'clock' | 'keys' | 'hasher' | 'metrics' | 'box' | 'peppers'
>;

/** Starts enrolment for the user of an `enroll` mfa_token (the token stays live for the confirmation). */
export async function startEnrollmentSignIn(
  deps: SignInDeps,
  mfaToken: string,
  opts: { withBackupCodes?: boolean },
  ctx: RequestContext,
): Promise<TotpEnrollment> {
  const { user } = await liveChallenge(deps, mfaToken, 'enroll', ctx);
  const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
  return startTotp(deps, user, { withBackupCodes: opts.withBackupCodes ?? false }, uctx);
}

/** Confirms the enrolment with a code and completes the sign-in. */
export async function completeEnrollmentSignIn(
  deps: SignInDeps,
  input: { mfaToken: string; code: string },
  ctx: RequestContext,
): Promise<SignedIn & { backupCodes: string[] }> {
  const { challenge, user } = await liveChallenge(deps, input.mfaToken, 'enroll', ctx);
  const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
  const refresh = randomToken();
  const { backupCodes, extra } = await confirmTotp(
    deps,
    user,
    input.code,
    {
      issueBackupCodes: true,
      lockedError: signInLocked,
      inTx: async (tx, now) => {
        if (!(await mfaChallenges.consume(tx, challenge.id, now))) throw invalidMfaToken();
        const session = await signInSession(deps, tx, user, refresh, uctx, now, {
          method: challenge.method,
          mfa: 'totp_enrollment',
        });
        return { session, now };
      },
    },
    uctx,
  );
  const { session, now } = extra!;
  return {
    user: { ...user, lastSignInAt: now, mfaEnabled: true },
    session,
    tokens: await tokenPair(deps, user, session.id, refresh),
    backupCodes: backupCodes ?? [],
  };
}
