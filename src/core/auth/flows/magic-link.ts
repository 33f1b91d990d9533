/**
 * Magic-link sign-in (the request half is ./requests.ts): spending a 15-minute link opens a session and
 * answers the normal token response. Following the link proves control of the address, so an unverified one
 * becomes verified (`user.verified`). The token is spent in the transaction that opens the session: of two
 * parallel uses one signs in.
 */

import { randomToken } from '../../crypto/secrets.js';
import type { Deps } from '../../deps.js';
import { forbidden, tokenError } from '../../errors.js';
import { emit, type RequestContext } from '../../events/events.js';
import {
  isMfaRequired,
  issueChallenge,
  type SignInResult,
  secondFactorNeeded,
  secondStep,
} from '../../mfa/challenge.js';
import { users } from '../../store/repos/users.js';
import { type SignedIn, signInSession, tokenPair } from '../service.js';
import { auditSuspendedSignIn } from '../session-open.js';
import { consumeToken } from './tokens.js';

type MagicDeps = Pick<Deps, 'config' | 'store' | 'clock' | 'keys' | 'hasher' | 'metrics'>;

export async function verifyMagicLink(
  deps: MagicDeps,
  token: string,
  ctx: RequestContext,
): Promise<SignedIn> {
  const result = await verifyMagicLinkWithMfa(deps, token, ctx);
  if (isMfaRequired(result)) throw secondFactorNeeded();
  return result;
}

/**
 * Magic-link sign-in as the API answers it: tokens, or an MFA challenge (the link proves the address — one
 * factor; a user with a second factor still owes it). The link is spent either way.
 */
export async function verifyMagicLinkWithMfa(
  deps: MagicDeps,
  token: string,
  ctx: RequestContext,
): Promise<SignInResult> {
  const now = deps.clock.now();
  const refresh = randomToken();
  const outcome = await deps.store.transaction(async (tx) => {
    const t = await consumeToken(tx, 'magic_link', token, now);
    let user = await users.findById(tx, t.userId);
    if (!user || user.status === 'deleted' || user.email !== t.email)
      throw tokenError('Invalid or expired link');
    const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
    if (user.status === 'suspended') {
      // The spent link stays spent; the refusal is audited like a password sign-in's.
      await auditSuspendedSignIn(tx, uctx, user.id, 'magic_link', now);
      return { kind: 'suspended' as const };
    }
    if (!user.emailVerified) {
      user = (await users.update(tx, user.id, { emailVerified: true }, now)) ?? user;
      await emit(
        tx,
        'user.verified',
        { type: 'user', id: user.id },
        { user_id: user.id, email: user.email },
        now,
      );
    }
    const mfa = await secondStep(tx, user.id);
    if (mfa)
      return { kind: 'mfa' as const, mfa: await issueChallenge(tx, user, mfa, 'magic_link', uctx, now) };
    const session = await signInSession(deps, tx, user, refresh, uctx, now, { method: 'magic_link' });
    return { kind: 'ok' as const, user: { ...user, lastSignInAt: now }, session };
  });
  if (outcome.kind === 'suspended') throw forbidden('This account is suspended');
  if (outcome.kind === 'mfa') return outcome.mfa;
  return {
    user: outcome.user,
    session: outcome.session,
    tokens: await tokenPair(deps, outcome.user, outcome.session.id, refresh),
  };
}
