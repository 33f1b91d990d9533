/**
 * Password reset (confirm half; the request half is ./requests.ts) and password change for a signed-in user.
 * Both enforce the password policy, spend every outstanding one-time token (passwordCredentials.set), end
 * sessions (reset: all of them; change: all but the caller's), write the audit row and the
 * `security.password.reset|changed` event, and mail the owner a notice — in one transaction.
 */
import type { Deps } from '../../deps.js';
import { tokenError, validation } from '../../errors.js';
import { audit, emit, type RequestContext } from '../../events/events.js';
import { signInAttempts } from '../../store/repos/attempts.js';
import { passwordCredentials } from '../../store/repos/credentials.js';
import { users } from '../../store/repos/users.js';
import type { Executor } from '../../store/store.js';
import type { User } from '../../users/model.js';
import { checkPasswordPolicy } from '../passwords.js';
import { revokeOtherSessions, revokeSessions } from '../revoke.js';
import { signInAttemptKey } from '../service.js';
import { sendFlowMail } from './mail.js';
import { consumeToken, peekToken } from './tokens.js';

type PasswordDeps = Pick<Deps, 'store' | 'clock' | 'config' | 'hasher'>;

/**
 * Sets a new password with a reset token. The token is looked at before the new password is hashed (no bcrypt
 * work for a dead link) and spent in the transaction that sets it, so of two parallel confirmations one wins.
 * A successful reset also lifts a sign-in lockout: the owner just proved control of the mailbox.
 */
export async function confirmPasswordReset(
  deps: PasswordDeps,
  input: { token: string; newPassword: string },
  ctx: RequestContext,
): Promise<{ userId: string; sessionsRevoked: number }> {
  checkPasswordPolicy(deps.config, input.newPassword);
  await peekToken(deps.store.db, 'password_reset', input.token, deps.clock.now());
  const hash = await deps.hasher.hash(input.newPassword);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const t = await consumeToken(tx, 'password_reset', input.token, now);
    const user = await users.findById(tx, t.userId);
    if (user?.status !== 'active') throw tokenError('Invalid or expired link');
    await passwordCredentials.set(tx, user.id, hash, now);
    const revoked = await revokeSessions(tx, user.id, 'password_reset', now);
    await signInAttempts.reset(tx, signInAttemptKey(user.email));
    const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
    await recordNewPassword(tx, deps, uctx, user, 'security.password.reset', revoked.length, now);
    return { userId: user.id, sessionsRevoked: revoked.length };
  });
}

/**
 * Changes the signed-in user's password: the current one must match (a wrong one is a 422 on the field, not
 * a 401 — the SDK answers a 401 by refreshing and retrying, then signing the user out); the user's other
 * sessions end, the caller's stays.
 */
export async function changePassword(
  deps: PasswordDeps,
  who: { userId: string; sessionId: string },
  input: { currentPassword: string; newPassword: string },
  ctx: RequestContext,
): Promise<{ sessionsRevoked: number }> {
  const current = await passwordCredentials.getHash(deps.store.db, who.userId);
  const ok = current
    ? await deps.hasher.verify(input.currentPassword, current)
    : await deps.hasher.verifyDummy(input.currentPassword);
  if (!ok) throw validation('The current password is not correct', { current_password: 'incorrect' });
  checkPasswordPolicy(deps.config, input.newPassword);
  if (input.newPassword === input.currentPassword)
    throw validation('The new password must differ from the current one', { new_password: 'unchanged' });
  const hash = await deps.hasher.hash(input.newPassword);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await users.findById(tx, who.userId);
    if (user?.status !== 'active') throw tokenError('Account is not active');
    await passwordCredentials.set(tx, user.id, hash, now);
    const revoked = await revokeOtherSessions(tx, user.id, who.sessionId, 'password_changed', now);
    await recordNewPassword(tx, deps, ctx, user, 'security.password.changed', revoked.length, now);
    return { sessionsRevoked: revoked.length };
  });
}

/** What both ways of setting a password leave behind: the audit row, the event and the notice to the owner. */
async function recordNewPassword(
  tx: Executor,
  deps: PasswordDeps,
  ctx: RequestContext,
  user: User,
  action: 'security.password.reset' | 'security.password.changed',
  sessionsRevoked: number,
  now: Date,
): Promise<void> {
  await audit(
    tx,
    ctx,
    { action, targetType: 'user', targetId: user.id, metadata: { sessions_revoked: sessionsRevoked } },
    now,
  );
  await emit(tx, action, { type: 'user', id: user.id }, { user_id: user.id }, now);
  await sendFlowMail(tx, deps, { to: user.email, template: 'password_changed', userId: user.id });
}
