/**
 * User administration: editing a user (the profile by the user themself; email, admin flag,
 * verification and status by an admin).
 * Every change writes its audit row and domain events in the transaction that makes it (see ./admin.ts).
 */

import { checkEmail } from '../auth/service.js';
import { conflict, forbidden } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { users } from '../store/repos/users.js';
import { isPrivileged, requireSelfOrAdmin, type StoreDeps } from './admin-access.js';
import { assertNotLastAdmin, changeStatus } from './admin-status.js';
import type { User } from './model.js';
import { findUserIn, type ProfilePatch, updateProfile } from './service.js';

export type AdminUserPatch = ProfilePatch & {
  email?: string | undefined;
  isAdmin?: boolean | undefined;
  emailVerified?: boolean | undefined;
  status?: 'active' | 'suspended' | undefined;
};

/** API names of the fields only an admin may change. */
const ADMIN_FIELDS = {
  email: 'email',
  isAdmin: 'is_admin',
  emailVerified: 'email_verified',
  status: 'status',
} as const;

/**
 * Edits a user. The user themself may change their profile; only an admin the email (unique → 409), the
 * admin flag, email verification and status (suspend/reactivate, with their effects).
 */
export async function updateUser(
  deps: StoreDeps,
  idOrEmail: string,
  patch: AdminUserPatch,
  ctx: RequestContext,
): Promise<User> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const { email: rawEmail, isAdmin, emailVerified, status, ...profile } = patch;
  const restricted = (Object.keys(ADMIN_FIELDS) as Array<keyof typeof ADMIN_FIELDS>).filter(
    (k) => patch[k] !== undefined,
  );
  if (restricted.length && !isPrivileged(ctx))
    throw forbidden(
      `Only a platform administrator may change ${restricted.map((k) => ADMIN_FIELDS[k]).join(', ')}`,
    );
  const email = rawEmail === undefined ? undefined : checkEmail(rawEmail);
  if (!restricted.length) {
    const target = await findUserIn(deps.store.db, idOrEmail);
    return updateProfile(deps, target.id, profile, ctx);
  }
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      const user = await findUserIn(tx, idOrEmail);
      if (email !== undefined && email !== user.email && (await users.findByEmail(tx, email)))
        throw conflict(`A user with email ${email} already exists`);
      if (user.isAdmin && (isAdmin === false || status === 'suspended')) await assertNotLastAdmin(tx, user);
      if (
        status !== undefined &&
        status !== user.status &&
        user.status === 'deleted' &&
        status === 'suspended'
      )
        throw conflict('The account is deleted; reactivate it first');
      const updated = (await users.update(tx, user.id, { ...profile, email, isAdmin, emailVerified }, now))!;
      const fields = Object.entries(patch)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
      await audit(
        tx,
        ctx,
        { action: 'user.update', targetType: 'user', targetId: user.id, metadata: { fields } },
        now,
      );
      await emit(tx, 'user.updated', { type: 'user', id: user.id }, { user_id: user.id, fields }, now);
      if (emailVerified && !user.emailVerified)
        await emit(tx, 'user.verified', { type: 'user', id: user.id }, { user_id: user.id }, now);
      if (status !== undefined && status !== user.status)
        return (await changeStatus(tx, updated, status, ctx, now)).user;
      return updated;
    })
    .catch(rethrowEmailConflict);
}

function rethrowEmailConflict(err: unknown): never {
  if (/unique|duplicate key/i.test(String((err as Error)?.message)))
    throw conflict('That email address or username is already taken');
  throw err;
}
