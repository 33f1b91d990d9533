/**
 * Email verification: a 48 h link mailed on sign-up and on request; following it marks the address verified
 * and emits `user.verified`. The token remembers the address it was sent to, so a link for an address the
 * user has since changed verifies nothing.
 */
import type { Deps } from '../../deps.js';
import { JanuaError, tokenError } from '../../errors.js';
import { audit, emit, type RequestContext } from '../../events/events.js';
import { users } from '../../store/repos/users.js';
import type { Executor } from '../../store/store.js';
import type { User } from '../../users/model.js';
import { linkWithToken, underBase } from './links.js';
import { sendFlowMail } from './mail.js';
import { consumeToken, issueToken, lifetimeText, sentInLastHour } from './tokens.js';

type VerifyDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

export const VERIFY_PATH = '/api/v1/auth/email/verify';

/**
 * Issues a verification token and enqueues its mail in `tx`. The link is the API's GET variant, which
 * verifies and then sends the browser on to `redirectUrl` (already checked against the allow-list).
 */
export async function issueVerification(
  tx: Executor,
  deps: VerifyDeps,
  user: User,
  redirectUrl: string | null,
  now: Date,
): Promise<void> {
  const { token } = await issueToken(
    tx,
    { userId: user.id, purpose: 'email_verify', email: user.email, redirectUrl },
    now,
  );
  await sendFlowMail(tx, deps, {
    to: user.email,
    template: 'verify_email',
    link: linkWithToken(underBase(deps.config, VERIFY_PATH), token),
    expiresIn: lifetimeText('email_verify'),
    userId: user.id,
  });
}

/**
 * Sends a fresh verification mail to a signed-in user. Already verified → nothing sent (same answer); more
 * than FLOW_MAILS_PER_HOUR in the last hour → 429 (the caller is signed in: there is nothing to enumerate).
 */
export async function resendVerification(
  deps: VerifyDeps,
  user: User,
  redirectUrl: string | null,
  ctx: RequestContext,
): Promise<void> {
  if (user.emailVerified) return;
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if ((await sentInLastHour(tx, user.id, 'email_verify', now)) >= deps.config.flowMailsPerHour)
      throw new JanuaError('RATE_LIMIT_ERROR', 'Too many verification mails; try again later', {
        retryAfter: 3600,
      });
    await issueVerification(tx, deps, user, redirectUrl, now);
    await audit(tx, ctx, { action: 'user.verification.sent', targetType: 'user', targetId: user.id }, now);
  });
}

/** For the mailer-side resend (anonymous, by address): the job calls this for a known, unverified user. */
export async function resendVerificationQuietly(
  tx: Executor,
  deps: VerifyDeps,
  user: User,
  redirectUrl: string | null,
  now: Date,
): Promise<boolean> {
  if (user.emailVerified || user.status !== 'active') return false;
  if ((await sentInLastHour(tx, user.id, 'email_verify', now)) >= deps.config.flowMailsPerHour) return false;
  await issueVerification(tx, deps, user, redirectUrl, now);
  return true;
}

export interface Verified {
  user: User;
  /** Where the GET link sends the browser next (the allow-listed page given when the mail was sent). */
  redirectUrl: string | null;
}

/** Spends a verification token and marks the address verified (`user.verified`, audited). */
export async function verifyEmail(deps: VerifyDeps, token: string, ctx: RequestContext): Promise<Verified> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const t = await consumeToken(tx, 'email_verify', token, now);
    const user = await users.findById(tx, t.userId);
    // The address changed since the mail was sent: the link proves nothing about the current one.
    if (!user || user.status === 'deleted' || user.email !== t.email)
      throw tokenError('Invalid or expired link');
    if (user.emailVerified) return { user, redirectUrl: t.redirectUrl };
    const updated = (await users.update(tx, user.id, { emailVerified: true }, now)) ?? user;
    const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
    await audit(tx, uctx, { action: 'user.email.verified', targetType: 'user', targetId: user.id }, now);
    await emit(
      tx,
      'user.verified',
      { type: 'user', id: user.id },
      { user_id: user.id, email: user.email },
      now,
    );
    return { user: updated, redirectUrl: t.redirectUrl };
  });
}
