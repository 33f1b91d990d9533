/**
 * User administration: a user's sessions as an admin (or the user) sees them: list, revoke one, revoke all.
 * Every change writes its audit row and domain events in the transaction that makes it (see ./admin.ts).
 */

import { revokeEverySession, revokeSessions } from '../auth/revoke.js';
import { notFound } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { type Session, sessions } from '../store/repos/sessions.js';
import { requireAdmin, requireSelfOrAdmin, type StoreDeps } from './admin-access.js';
import type { User } from './model.js';
import { findUserIn, UUID_RE } from './service.js';

/** The session object of `GET /users/{id}/sessions`. */
export interface PublicSession {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export function presentSession(s: Session, currentSessionId?: string | null): PublicSession {
  return {
    id: s.id,
    created_at: s.createdAt.toISOString(),
    last_used_at: s.lastUsedAt.toISOString(),
    expires_at: s.expiresAt.toISOString(),
    ip: s.ip,
    user_agent: s.userAgent,
    current: s.id === currentSessionId,
  };
}

/** Live sessions (not revoked, not expired), newest first: the user themself or an admin. */
export async function listUserSessions(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; sessions: Session[] }> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const user = await findUserIn(deps.store.db, idOrEmail);
  return { user, sessions: await sessions.listLive(deps.store.db, user.id, deps.clock.now()) };
}

/** Ends one live session of the user (404 when it is not one of theirs or already ended). */
export async function revokeUserSession(
  deps: StoreDeps,
  idOrEmail: string,
  sessionId: string,
  ctx: RequestContext,
): Promise<void> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const session = UUID_RE.test(sessionId)
      ? await sessions.findById(tx, sessionId.toLowerCase())
      : undefined;
    if (!session || session.userId !== user.id || session.revokedAt || session.expiresAt <= now)
      throw notFound('Session not found');
    await revokeSessions(tx, user.id, 'revoked', now, [session.id]);
    await audit(
      tx,
      ctx,
      {
        action: 'session.revoke',
        targetType: 'session',
        targetId: session.id,
        metadata: { user_id: user.id },
      },
      now,
    );
  });
}

/** Ends every session of the user (the user themself or an admin); their tokens stop working at once. */
export async function revokeUserSessions(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; revoked: number }> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const revoked = await revokeSessions(tx, user.id, 'revoked_all', now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.sessions.revoke_all',
        targetType: 'user',
        targetId: user.id,
        metadata: { sessions_revoked: revoked.length },
      },
      now,
    );
    return { user, revoked: revoked.length };
  });
}

/**
 * Ends every live session on the platform but the caller's own (admins): the emergency sign-out of
 * everyone, e.g. after a leaked signing key was rotated. Every access token stops working at once.
 */
export async function revokeAllPlatformSessions(
  deps: StoreDeps,
  keepSessionId: string | undefined,
  ctx: RequestContext,
): Promise<{ revoked: number }> {
  requireAdmin(ctx);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const revoked = await revokeEverySession(tx, keepSessionId, 'revoked_by_admin', now);
    await audit(
      tx,
      ctx,
      { action: 'sessions.revoke_all', targetType: 'platform', metadata: { sessions_revoked: revoked } },
      now,
    );
    return { revoked };
  });
}
