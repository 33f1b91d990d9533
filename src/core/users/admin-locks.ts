/**
 * User administration: sign-in lockouts (lock, unlock) and operator-set passwords.
 * Every change writes its audit row and domain events in the transaction that makes it (see ./admin.ts).
 */

import { checkPasswordPolicy } from '../auth/passwords.js';
import { revokeSessions } from '../auth/revoke.js';
import { checkEmail, signInAttemptKey } from '../auth/service.js';
import type { Deps } from '../deps.js';
import { JanuaError } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { signInAttempts } from '../store/repos/attempts.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import type { Executor } from '../store/store.js';
import { requireAdmin, type StoreDeps, wholeNumber } from './admin-access.js';
import type { User } from './model.js';
import { findUserIn } from './service.js';

export const MAX_LOCK_MINUTES = 525_600;

/** Locks sign-in for `minutes` (default: the lockout duration) through the same counter failed sign-ins use. */
export async function lockUser(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  idOrEmail: string,
  opts: { minutes?: number | undefined },
  ctx: RequestContext,
): Promise<{ user: User; lockedUntil: Date }> {
  requireAdmin(ctx);
  const minutes = wholeNumber(opts.minutes, 'minutes', 1, MAX_LOCK_MINUTES, deps.config.lockoutMinutes);
  const now = deps.clock.now();
  const lockedUntil = new Date(now.getTime() + minutes * 60_000);
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await signInAttempts.lockUntil(tx, signInAttemptKey(user.email), lockedUntil, now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.lock',
        targetType: 'user',
        targetId: user.id,
        metadata: { locked_until: lockedUntil, minutes },
      },
      now,
    );
    await emit(
      tx,
      'user.locked',
      { type: 'user', id: user.id },
      { user_id: user.id, locked_until: lockedUntil.toISOString() },
      now,
    );
    return { user, lockedUntil };
  });
}

/** Resets the failure count of an email's sign-in key; whether it was locked at `now`. */
async function liftLockout(tx: Executor, email: string, now: Date): Promise<boolean> {
  const key = signInAttemptKey(email);
  const state = await signInAttempts.get(tx, key);
  await signInAttempts.reset(tx, key);
  return !!state?.lockedUntil && state.lockedUntil > now;
}

/** Lifts a sign-in lockout and resets the failure count (admins). */
export async function unlockUser(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; wasLocked: boolean }> {
  requireAdmin(ctx);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const wasLocked = await liftLockout(tx, user.email, now);
    await audit(
      tx,
      ctx,
      { action: 'user.unlock', targetType: 'user', targetId: user.id, metadata: { was_locked: wasLocked } },
      now,
    );
    await emit(
      tx,
      'user.unlocked',
      { type: 'user', id: user.id },
      { user_id: user.id, was_locked: wasLocked },
      now,
    );
    return { user, wasLocked };
  });
}

/**
 * Lifts the sign-in lockout of an email that has no account. Unknown emails are locked exactly like real
 * ones (so lockouts reveal nothing), which leaves an operator a way to lift one: the counter is keyed by
 * the email's hash, the same key sign-in uses. Audited against that key; there is no user to emit for.
 */
export async function unlockEmail(
  deps: StoreDeps,
  email: string,
  ctx: RequestContext,
): Promise<{ user: null; email: string; wasLocked: boolean }> {
  requireAdmin(ctx);
  const normalized = checkEmail(email);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const wasLocked = await liftLockout(tx, normalized, now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.unlock',
        targetType: 'sign_in_key',
        targetId: signInAttemptKey(normalized),
        metadata: { was_locked: wasLocked },
      },
      now,
    );
    return { user: null, email: normalized, wasLocked };
  });
}

/**
 * `janua users unlock ID|EMAIL`: the user's lockout; for an email with no account, that email's
 * (`unlockEmail`), since unknown emails are locked like real ones.
 */
export async function unlockUserOrEmail(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User | null; email: string; wasLocked: boolean }> {
  try {
    const { user, wasLocked } = await unlockUser(deps, idOrEmail, ctx);
    return { user, email: user.email, wasLocked };
  } catch (err) {
    if (!(err instanceof JanuaError && err.code === 'NOT_FOUND_ERROR') || !idOrEmail.includes('@')) throw err;
    return unlockEmail(deps, idOrEmail, ctx);
  }
}

/** Sets a new password (operators and admins); every session is revoked and the lockout lifted. */
export async function setUserPassword(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'hasher'>,
  idOrEmail: string,
  password: string,
  ctx: RequestContext,
): Promise<{ user: User; sessionsRevoked: number }> {
  requireAdmin(ctx);
  checkPasswordPolicy(deps.config, password);
  await findUserIn(deps.store.db, idOrEmail);
  const hash = await deps.hasher.hash(password);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await passwordCredentials.set(tx, user.id, hash, now);
    await signInAttempts.reset(tx, signInAttemptKey(user.email));
    const revoked = await revokeSessions(tx, user.id, 'password_changed', now);
    await audit(
      tx,
      ctx,
      {
        action: 'user.password.set',
        targetType: 'user',
        targetId: user.id,
        metadata: { sessions_revoked: revoked.length },
      },
      now,
    );
    await emit(
      tx,
      'security.password.changed',
      { type: 'user', id: user.id },
      { user_id: user.id, by: ctx.actorType ?? 'unknown' },
      now,
    );
    return { user, sessionsRevoked: revoked.length };
  });
}
