/**
 * User administration: account status (suspend, reactivate, deactivate, hard delete).
 * Every change writes its audit row and domain events in the transaction that makes it (see ./admin.ts).
 */

import { revokeSessions } from '../auth/revoke.js';
import { conflict } from '../errors.js';
import { audit, type DomainEventType, emit, type RequestContext } from '../events/events.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import { requireAdmin, requireSelfOrAdmin, type StoreDeps } from './admin-access.js';
import type { User, UserStatus } from './model.js';
import { findUserIn } from './service.js';

/** Refuses to leave the platform without an active admin. */
export async function assertNotLastAdmin(tx: Executor, user: User): Promise<void> {
  if (user.isAdmin && user.status === 'active' && (await users.countActiveAdmins(tx, user.id)) === 0)
    throw conflict(`${user.email} is the last active platform administrator; make another admin first`);
}

/** Revokes sessions and appends their `session.revoked` events. */
const TRANSITIONS: Record<UserStatus, { action: string; event: DomainEventType; revoke: boolean }> = {
  suspended: { action: 'user.suspend', event: 'user.suspended', revoke: true },
  active: { action: 'user.reactivate', event: 'user.reactivated', revoke: false },
  deleted: { action: 'user.deactivate', event: 'user.deleted', revoke: true },
};

export interface StatusChange {
  user: User;
  sessionsRevoked: number;
}

/** Sets the status inside `tx`; suspending or deactivating revokes every session, so tokens stop at once. */
export async function changeStatus(
  tx: Executor,
  user: User,
  to: UserStatus,
  ctx: RequestContext,
  now: Date,
): Promise<StatusChange> {
  const t = TRANSITIONS[to];
  const updated = user.status === to ? user : (await users.update(tx, user.id, { status: to }, now))!;
  const revoked = t.revoke
    ? await revokeSessions(tx, user.id, to === 'deleted' ? 'user_deleted' : 'user_suspended', now)
    : [];
  await audit(
    tx,
    ctx,
    {
      action: t.action,
      targetType: 'user',
      targetId: user.id,
      metadata: { from: user.status, sessions_revoked: revoked.length },
    },
    now,
  );
  if (user.status !== to)
    await emit(
      tx,
      t.event,
      { type: 'user', id: user.id },
      { user_id: user.id, email: user.email, hard: false },
      now,
    );
  return { user: updated, sessionsRevoked: revoked.length };
}

async function transition(
  deps: StoreDeps,
  idOrEmail: string,
  to: UserStatus,
  ctx: RequestContext,
  check: (user: User, tx: Executor) => Promise<void>,
): Promise<StatusChange> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    await check(user, tx);
    return changeStatus(tx, user, to, ctx, now);
  });
}

/** Suspends an account (admins): sign-in is refused and every session is revoked at once. */
export function suspendUser(deps: StoreDeps, idOrEmail: string, ctx: RequestContext): Promise<StatusChange> {
  requireAdmin(ctx);
  return transition(deps, idOrEmail, 'suspended', ctx, async (user, tx) => {
    if (user.status === 'deleted') throw conflict('The account is deleted; reactivate it first');
    await assertNotLastAdmin(tx, user);
  });
}

/** Makes a suspended or deactivated account active again (admins). */
export function reactivateUser(
  deps: StoreDeps,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<StatusChange> {
  requireAdmin(ctx);
  return transition(deps, idOrEmail, 'active', ctx, async () => {});
}

export interface DeleteResult extends StatusChange {
  hard: boolean;
}

/**
 * Deactivates an account (status `deleted`, every session revoked; an admin can reactivate it) — a user may
 * do this to themself. `hard` removes the row and everything that hangs off it (admins only), and is refused
 * while the user is the only owner of an organization.
 */
export async function deleteUser(
  deps: StoreDeps,
  idOrEmail: string,
  opts: { hard?: boolean | undefined },
  ctx: RequestContext,
): Promise<DeleteResult> {
  if (opts.hard) requireAdmin(ctx);
  else requireSelfOrAdmin(ctx, idOrEmail);
  if (!opts.hard) {
    const r = await transition(deps, idOrEmail, 'deleted', ctx, (user, tx) => assertNotLastAdmin(tx, user));
    return { ...r, hard: false };
  }
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const user = await findUserIn(tx, idOrEmail);
    const owned = await users.soleOwnerships(tx, user.id);
    if (owned.length)
      throw conflict(
        `${user.email} is the only owner of ${owned.length} organization(s) (${owned.join(', ')}); transfer ownership or delete them first`,
      );
    await assertNotLastAdmin(tx, user);
    const revoked = await revokeSessions(tx, user.id, 'user_deleted', now);
    await users.remove(tx, user.id);
    await audit(
      tx,
      ctx,
      {
        action: 'user.delete',
        targetType: 'user',
        targetId: user.id,
        metadata: { hard: true, email: user.email, sessions_revoked: revoked.length },
      },
      now,
    );
    await emit(
      tx,
      'user.deleted',
      { type: 'user', id: user.id },
      { user_id: user.id, email: user.email, hard: true },
      now,
    );
    return { user: { ...user, status: 'deleted' as const }, sessionsRevoked: revoked.length, hard: true };
  });
}
