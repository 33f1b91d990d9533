/**
 * One-time codes: how every browser sign-in that leaves the app comes back to it (SAML today; social login
 * and the hosted pages use the same). The flow ends with `302 redirect_uri?code=…&state=…`; the app posts
 * `{code, redirect_uri}` to `POST /api/v1/auth/exchange` for the normal token response — tokens never travel
 * in a URL (RFC 6749 §4.1.2/§4.1.3 shape: the code is single use, lives 60 s, and is bound to the exact
 * redirect URI it was sent to, so a code leaked from one app cannot be redeemed for another).
 *
 * The code holds 256 random bits; only its SHA-256 is stored. Spending it is one conditional UPDATE, so of
 * two parallel exchanges one wins. The MFA step applies here as on every other way in: a sign-in whose first
 * factor did not already include a second one answers an `mfa_token` instead of tokens.
 */
import { randomUUID } from 'node:crypto';
import { hashToken, randomToken, safeEqual } from '../crypto/secrets.js';
import { forbidden, tokenError, validation } from '../errors.js';
import type { RequestContext } from '../events/events.js';
import { issueChallenge, type SignInResult, secondStep } from '../mfa/challenge.js';
import { authCodes } from '../store/repos/sso-flow.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import type { AuthDeps } from './service.js';
import { auditSuspendedSignIn, signInSession, tokenPair } from './session-open.js';

export const AUTH_CODE_TTL_MS = 60_000;
const CODE_RE = /^[A-Za-z0-9_-]{32,128}$/;

export interface CodeGrant {
  userId: string;
  redirectUri: string;
  /** The first factor (`saml`, …), recorded on the session's audit row. */
  method: string;
  /** True when the first factor already proved a second one (an IdP that asserted MFA). */
  mfaSatisfied: boolean;
  details: Record<string, unknown>;
}

/** Issues a code in the caller's transaction; returns the code (shown once, in the redirect). */
export async function issueAuthCode(tx: Executor, grant: CodeGrant, now: Date): Promise<string> {
  const code = randomToken();
  await authCodes.insert(tx, {
    id: randomUUID(),
    codeHash: hashToken(code),
    userId: grant.userId,
    redirectUri: grant.redirectUri,
    method: grant.method,
    details: { ...grant.details, mfa_satisfied: grant.mfaSatisfied },
    createdAt: now,
    expiresAt: new Date(now.getTime() + AUTH_CODE_TTL_MS),
  });
  return code;
}

const invalidCode = () => tokenError('Invalid, expired or already used code');

/**
 * Exchanges a code for the token response (or an MFA challenge). Unknown, spent, expired codes and a
 * redirect URI other than the one the code was sent to answer TOKEN_ERROR alike; a wrong redirect URI still
 * spends the code (RFC 6749 §10.5: a code presented wrongly is not left for a second try).
 */
export async function exchangeCode(
  deps: AuthDeps,
  input: { code: string; redirectUri: string },
  ctx: RequestContext,
): Promise<SignInResult> {
  if (typeof input.code !== 'string' || !CODE_RE.test(input.code)) throw invalidCode();
  if (typeof input.redirectUri !== 'string' || !input.redirectUri)
    throw validation('redirect_uri is required', { redirect_uri: 'required' });
  const now = deps.clock.now();
  const refresh = randomToken();
  const outcome = await deps.store.transaction(async (tx) => {
    const grant = await authCodes.consume(tx, hashToken(input.code), now);
    if (!grant) return { kind: 'invalid' as const };
    if (!safeEqual(grant.redirectUri, input.redirectUri)) return { kind: 'invalid' as const };
    const user = await users.findById(tx, grant.userId);
    if (!user || user.status === 'deleted') return { kind: 'invalid' as const };
    const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
    if (user.status === 'suspended') {
      await auditSuspendedSignIn(tx, uctx, user.id, grant.method, now);
      return { kind: 'suspended' as const };
    }
    const details = grant.details as { mfa_satisfied?: boolean; connection_id?: string };
    if (!details.mfa_satisfied) {
      const step = await secondStep(tx, user.id);
      if (step)
        return { kind: 'mfa' as const, mfa: await issueChallenge(tx, user, step, grant.method, uctx, now) };
    }
    const session = await signInSession(deps, tx, user, refresh, uctx, now, {
      method: grant.method,
      ...(details.connection_id ? { connection_id: details.connection_id } : {}),
      ...(details.mfa_satisfied ? { mfa: 'idp' } : {}),
    });
    return { kind: 'ok' as const, user: { ...user, lastSignInAt: now }, session };
  });
  if (outcome.kind === 'invalid') throw invalidCode();
  if (outcome.kind === 'suspended') throw forbidden('This account is suspended');
  if (outcome.kind === 'mfa') return outcome.mfa;
  return {
    user: outcome.user,
    session: outcome.session,
    tokens: await tokenPair(deps, outcome.user, outcome.session.id, refresh),
  };
}
