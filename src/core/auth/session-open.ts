/**
 * Where every sign-in ends (password, magic link, MFA verify, enrolment sign-in, passkey): the user's sign-in
 * time, the `auth.signin` audit row and a new session with its first refresh token, in the caller's
 * transaction; then the token pair. One place, so every way in records the same things.
 */
import { randomUUID } from 'node:crypto';
import { hashToken } from '../crypto/secrets.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { refreshTokens, type Session, sessions } from '../store/repos/sessions.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import type { User } from '../users/model.js';
import { revokeSessions } from './revoke.js';
import type { AuthDeps, TokenPair } from './service.js';
import { signAccessToken } from './tokens.js';

/**
 * Records a successful sign-in and opens its session: `users.last_sign_in_at`, the `auth.signin` audit row
 * (with `metadata`: the method and, after a second step, the factor), the session. `ctx` is the user's.
 */
export async function signInSession(
  deps: AuthDeps,
  tx: Executor,
  user: User,
  refresh: string,
  ctx: RequestContext,
  now: Date,
  metadata?: Record<string, unknown>,
): Promise<Session> {
  await users.touchSignIn(tx, user.id, now);
  await audit(
    tx,
    ctx,
    { action: 'auth.signin', targetType: 'user', targetId: user.id, ...(metadata ? { metadata } : {}) },
    now,
  );
  return openSession(deps, tx, user, refresh, ctx, now);
}

/**
 * The audit row of a sign-in refused because the account is suspended, after its first factor was spent (a
 * link, a one-time code): recorded like a password sign-in's refusal.
 */
export async function auditSuspendedSignIn(
  tx: Executor,
  uctx: RequestContext,
  userId: string,
  method: string,
  now: Date,
): Promise<void> {
  await audit(
    tx,
    uctx,
    {
      action: 'auth.signin',
      outcome: 'failure',
      targetType: 'user',
      targetId: userId,
      metadata: { method, reason: 'suspended' },
    },
    now,
  );
}

/** Opens a session with its first refresh token and enforces the per-user session cap (oldest revoked). */
export async function openSession(
  deps: AuthDeps,
  tx: Executor,
  user: User,
  refresh: string,
  ctx: RequestContext,
  now: Date,
): Promise<Session> {
  const expiresAt = new Date(now.getTime() + deps.config.refreshTokenDays * 86_400_000);
  const session: Session = {
    id: randomUUID(),
    userId: user.id,
    createdAt: now,
    lastUsedAt: now,
    expiresAt,
    revokedAt: null,
    revokeReason: null,
    ip: ctx.ip ?? null,
    userAgent: ctx.userAgent?.slice(0, 512) ?? null,
  };
  await sessions.insert(tx, session);
  await refreshTokens.insert(tx, {
    id: randomUUID(),
    sessionId: session.id,
    tokenHash: hashToken(refresh),
    createdAt: now,
    expiresAt,
  });
  await emit(
    tx,
    'session.created',
    { type: 'session', id: session.id },
    { session_id: session.id, user_id: user.id },
    now,
  );
  const live = await sessions.listLive(tx, user.id, now);
  const excess = live.filter((s) => s.id !== session.id).slice(deps.config.maxSessionsPerUser - 1);
  await revokeSessions(
    tx,
    user.id,
    'session_limit',
    now,
    excess.map((s) => s.id),
  );
  return session;
}

export async function tokenPair(
  deps: AuthDeps,
  user: User,
  sessionId: string,
  refresh: string,
): Promise<TokenPair> {
  const access = await signAccessToken(deps, { userId: user.id, sessionId, email: user.email });
  deps.metrics.tokensIssued.inc({ type: 'refresh' });
  return {
    access_token: access,
    refresh_token: refresh,
    token_type: 'bearer',
    expires_in: deps.config.accessTokenMinutes * 60,
  };
}
