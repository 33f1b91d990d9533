/**
 * An administrator's recovery for a user who lost their authenticator (`janua users mfa-reset`): the factor and
 * backup codes go, every session of the user is revoked (whoever holds one may be the reason for the reset),
 * `security.mfa.disabled` is emitted and the reset audited — in one transaction.
 */
import { revokeSessions } from '../auth/revoke.js';
import type { Deps } from '../deps.js';
import { notFound } from '../errors.js';
import type { RequestContext } from '../events/events.js';
import { users } from '../store/repos/users.js';
import { removeMfa } from './enroll.js';

export async function resetMfa(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: string,
  ctx: RequestContext,
): Promise<{ hadFactor: boolean; sessionsRevoked: number }> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await users.findById(tx, userId);
    if (!user || user.status === 'deleted') throw notFound('User not found');
    const hadFactor = await removeMfa(tx, userId, 'admin_reset', ctx, now);
    const revoked = await revokeSessions(tx, userId, 'mfa_reset', now);
    return { hadFactor, sessionsRevoked: revoked.length };
  });
}
