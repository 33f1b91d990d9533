import { emitMany } from '../events/events.js';
import { sessions } from '../store/repos/sessions.js';
import type { Executor } from '../store/store.js';

/**
 * Revokes live sessions of one user — the listed ones, or all — and emits `session.revoked` for each one this
 * call actually ended, in the caller's transaction. Every path that ends sessions (sign-out, the session cap,
 * refresh-token reuse, suspension, deletion, password changes) goes through here.
 */
export async function revokeSessions(
  tx: Executor,
  userId: string,
  reason: string,
  now: Date,
  only?: readonly string[],
): Promise<string[]> {
  const revoked = only
    ? await sessions.revoke(tx, [...only], reason, now)
    : await sessions.revokeAllForUser(tx, userId, reason, now);
  await emitMany(
    tx,
    revoked.map((id) => ({
      type: 'session.revoked' as const,
      aggregate: { type: 'session', id },
      payload: { session_id: id, user_id: userId, reason },
    })),
    now,
  );
  return revoked;
}
