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
  await emitRevoked(tx, userId, revoked, reason, now);
  return revoked;
}

/** Revokes every live session of the user but `keep` (the caller's own), with their events. */
export async function revokeOtherSessions(
  tx: Executor,
  userId: string,
  keep: string,
  reason: string,
  now: Date,
): Promise<string[]> {
  const revoked = await sessions.revokeAllForUser(tx, userId, reason, now, keep);
  await emitRevoked(tx, userId, revoked, reason, now);
  return revoked;
}

/** Revokes every live session on the platform but `keep`, with their events; how many. */
export async function revokeEverySession(
  tx: Executor,
  keep: string | undefined,
  reason: string,
  now: Date,
): Promise<number> {
  const revoked = await sessions.revokeEverywhere(tx, reason, now, keep);
  await emitMany(
    tx,
    revoked.map((s) => ({
      type: 'session.revoked' as const,
      aggregate: { type: 'session', id: s.id },
      payload: { session_id: s.id, user_id: s.userId, reason },
    })),
    now,
  );
  return revoked.length;
}

async function emitRevoked(
  tx: Executor,
  userId: string,
  revoked: string[],
  reason: string,
  now: Date,
): Promise<void> {
  await emitMany(
    tx,
    revoked.map((id) => ({
      type: 'session.revoked' as const,
      aggregate: { type: 'session', id },
      payload: { session_id: id, user_id: userId, reason },
    })),
    now,
  );
}
