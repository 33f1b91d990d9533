/**
 * "My sessions": a signed-in user's own live sessions — list them with the device each one is on, look at
 * one, end one, or end every other one. The caller's session comes from the access token (`who`), never
 * from input. Another user's session id is answered 404, like an unknown one, so ids reveal nothing.
 *
 * Revocation is immediate: every authenticated request checks its session (auth/service.ts
 * `authenticate`), and refresh needs a live session. Last activity is the session's `last_used_at`, which
 * refresh already writes; nothing here adds a write to ordinary requests.
 */
import { revokeOtherSessions, revokeSessions } from '../auth/revoke.js';
import type { Deps } from '../deps.js';
import { notFound, validation } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { type Session, sessions } from '../store/repos/sessions.js';
import { UUID_RE } from '../users/service.js';
import { parseUserAgent } from './user-agent.js';

type SessionDeps = Pick<Deps, 'store' | 'clock'>;

/** Who is asking: the user and the session of their access token. */
export interface Me {
  userId: string;
  sessionId: string;
}

/** The session object of `/api/v1/sessions` (the shape the original SDK reads). */
export interface MySession {
  id: string;
  user_id: string;
  ip_address: string | null;
  user_agent: string | null;
  device_name: string | null;
  device_type: string;
  browser: string | null;
  os: string | null;
  is_current: boolean;
  created_at: string;
  last_activity_at: string;
}

export interface MySessionPage {
  data: MySession[];
  total: number;
  page: number;
  per_page: number;
  total_pages: number;
}

export const MAX_SESSIONS_PER_PAGE = 100;

export function presentMySession(s: Session, currentSessionId: string): MySession {
  const ua = parseUserAgent(s.userAgent);
  return {
    id: s.id,
    user_id: s.userId,
    ip_address: s.ip,
    user_agent: s.userAgent,
    device_name: ua.deviceName,
    device_type: ua.deviceType,
    browser: ua.browser,
    os: ua.os,
    is_current: s.id === currentSessionId,
    created_at: s.createdAt.toISOString(),
    last_activity_at: s.lastUsedAt.toISOString(),
  };
}

function whole(v: number | undefined, name: string, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw validation(`${name} must be a whole number from 1 to ${max}`, { [name]: 'out of range' });
  return v;
}

/**
 * The user's live sessions, newest first, a page at a time. A user holds at most MAX_SESSIONS_PER_USER,
 * so the page is cut from the full list.
 */
export async function listMySessions(
  deps: SessionDeps,
  me: Me,
  q: { page?: number | undefined; perPage?: number | undefined },
): Promise<MySessionPage> {
  const page = whole(q.page, 'page', 1_000_000, 1);
  const perPage = whole(q.perPage, 'per_page', MAX_SESSIONS_PER_PAGE, 20);
  const live = await sessions.listLive(deps.store.db, me.userId, deps.clock.now());
  return {
    data: live.slice((page - 1) * perPage, page * perPage).map((s) => presentMySession(s, me.sessionId)),
    total: live.length,
    page,
    per_page: perPage,
    total_pages: Math.ceil(live.length / perPage),
  };
}

/** One of the user's live sessions, or 404 (unknown, ended, or someone else's: the same answer). */
async function findMine(
  ex: SessionDeps['store']['db'],
  me: Me,
  sessionId: string,
  now: Date,
): Promise<Session> {
  const s = UUID_RE.test(sessionId) ? await sessions.findById(ex, sessionId.toLowerCase()) : undefined;
  if (!s || s.userId !== me.userId || s.revokedAt || s.expiresAt <= now) throw notFound('Session not found');
  return s;
}

export async function getMySession(deps: SessionDeps, me: Me, sessionId: string): Promise<MySession> {
  return presentMySession(await findMine(deps.store.db, me, sessionId, deps.clock.now()), me.sessionId);
}

/** Ends one of the user's sessions (the current one too: that is signing out). */
export async function revokeMySession(
  deps: SessionDeps,
  me: Me,
  sessionId: string,
  ctx: RequestContext,
): Promise<void> {
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const s = await findMine(tx, me, sessionId, now);
    await revokeSessions(tx, me.userId, 'revoked', now, [s.id]);
    await audit(
      tx,
      ctx,
      {
        action: 'session.revoke',
        targetType: 'session',
        targetId: s.id,
        metadata: { user_id: me.userId, current: s.id === me.sessionId },
      },
      now,
    );
  });
}

/** Ends every session of the user but the current one ("sign out everywhere else"); how many. */
export async function revokeMyOtherSessions(
  deps: SessionDeps,
  me: Me,
  ctx: RequestContext,
): Promise<{ revoked: number }> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const revoked = await revokeOtherSessions(tx, me.userId, me.sessionId, 'revoked_others', now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.sessions.revoke_others',
        targetType: 'user',
        targetId: me.userId,
        metadata: { sessions_revoked: revoked.length, kept: me.sessionId },
      },
      now,
    );
    return { revoked: revoked.length };
  });
}
