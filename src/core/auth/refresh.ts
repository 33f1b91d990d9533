/**
 * Refresh-token rotation (RFC 6819 §5.2.2.3): a refresh token is spent once for a new pair; a spent token
 * presented again revokes its family, unless within the configured reuse interval. Split from ./service.ts,
 * which re-exports `refresh`.
 */
import { randomUUID } from 'node:crypto';
import { hashToken, randomToken } from '../crypto/secrets.js';
import { tokenError } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { refreshTokens, sessions } from '../store/repos/sessions.js';
import { revokeSessions } from './revoke.js';
import { rotate } from './rotation.js';
import { type AuthDeps, type SignedIn, tokenPair } from './service.js';

/**
 * Exchanges a refresh token for a new pair, spending the old one. Presenting a spent token revokes its whole
 * family (the session), so after a theft both the thief's and the owner's next refresh fail.
 */
export async function refresh(deps: AuthDeps, token: string, ctx: RequestContext): Promise<SignedIn> {
  if (!token || token.length > 512) throw tokenError('Invalid refresh token');
  return (await rotateLive(deps, token)) ?? rotateChecked(deps, token, ctx);
}

/** The common case (see rotation.ts); undefined sends the token to rotateChecked. */
async function rotateLive(deps: AuthDeps, token: string): Promise<SignedIn | undefined> {
  const next = randomToken();
  const rotated = await rotate(
    deps,
    { tokenHash: hashToken(token), nextHash: hashToken(next) },
    deps.config.refreshTokenDays * 86_400_000,
  );
  return rotated && { ...rotated, tokens: await tokenPair(deps, rotated.user, rotated.session.id, next) };
}

/**
 * Whether a spent refresh token presented again at `now` is taken as a concurrent refresh rather than a
 * replay: `REFRESH_REUSE_INTERVAL_SECONDS` after it was spent (Auth0's "reuse interval", Ory Hydra's
 * "refresh token grace period"). An app that refreshes from two tabs at once presents one token twice;
 * the second presentation then gets a pair of its own for the same session. 0 (the default) keeps the
 * strict rule of RFC 6819 §5.2.2.3: any reuse revokes the family.
 */
function withinReuseInterval(deps: AuthDeps, usedAt: Date, now: Date): boolean {
  const intervalMs = deps.config.refreshReuseIntervalSeconds * 1000;
  return intervalMs > 0 && now.getTime() - usedAt.getTime() <= intervalMs;
}

/**
 * Every case, one step at a time in one transaction: spends, detects reuse (and revokes), or refuses. A
 * token spent within the reuse interval is not spent again: its session, if still live, gets a new
 * successor beside the first one (the session is the family; revoking it ends both).
 */
async function rotateChecked(deps: AuthDeps, token: string, ctx: RequestContext): Promise<SignedIn> {
  const now = deps.clock.now();
  const next = randomToken();
  const expiresAt = new Date(now.getTime() + deps.config.refreshTokenDays * 86_400_000);
  const outcome = await deps.store.transaction(async (tx) => {
    const spent = await refreshTokens.consume(tx, hashToken(token), now);
    if (spent.kind === 'invalid') return { kind: 'invalid' as const };
    const found = await sessions.findWithUser(tx, spent.sessionId);
    if (!found) return { kind: 'invalid' as const };
    if (spent.kind === 'reused' && !withinReuseInterval(deps, spent.usedAt, now)) {
      await revokeSessions(tx, found.user.id, 'refresh_token_reuse', now, [spent.sessionId]);
      await audit(
        tx,
        ctx,
        {
          action: 'auth.refresh.reuse',
          outcome: 'failure',
          targetType: 'session',
          targetId: spent.sessionId,
          metadata: { user_id: found.user.id },
        },
        now,
      );
      return { kind: 'reused' as const };
    }
    const { session, user } = found;
    if (session.revokedAt || session.expiresAt <= now || user.status !== 'active')
      return { kind: 'invalid' as const };
    if (spent.kind === 'reused') {
      const metadata = {
        user_id: user.id,
        seconds_since_spent: (now.getTime() - spent.usedAt.getTime()) / 1000,
      };
      await audit(
        tx,
        ctx,
        { action: 'auth.refresh.reuse_interval', targetType: 'session', targetId: session.id, metadata },
        now,
      );
    }
    await refreshTokens.insert(tx, {
      id: randomUUID(),
      sessionId: session.id,
      tokenHash: hashToken(next),
      createdAt: now,
      expiresAt,
    });
    await sessions.touch(tx, session.id, now, expiresAt);
    return { kind: 'ok' as const, user, session: { ...session, lastUsedAt: now, expiresAt } };
  });
  if (outcome.kind === 'reused') {
    deps.metrics.refreshReuse.inc();
    throw tokenError('Refresh token was already used; the session has been revoked');
  }
  if (outcome.kind === 'invalid') throw tokenError('Invalid or expired refresh token');
  return {
    user: outcome.user,
    session: outcome.session,
    tokens: await tokenPair(deps, outcome.user, outcome.session.id, next),
  };
}
