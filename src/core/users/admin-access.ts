/**
 * Who may administer users, shared by the user-administration modules (./admin-*.ts): platform admins
 * (`actorType: 'admin'`) and operators (`cli`, `system`) may administer anyone; a signed-in user only
 * themself, and only where an operation says so.
 */

import type { Deps } from '../deps.js';
import { forbidden, validation } from '../errors.js';
import type { RequestContext } from '../events/events.js';
import { requirePlatformAdmin } from '../rbac/access.js';

export type StoreDeps = Pick<Deps, 'store' | 'clock'>;

/** Platform admins and operators (CLI, system jobs). */
export function isPrivileged(ctx: RequestContext): boolean {
  return ctx.actorType === 'admin' || ctx.actorType === 'cli' || ctx.actorType === 'system';
}

export function requireAdmin(ctx: RequestContext): void {
  requirePlatformAdmin({ isAdmin: isPrivileged(ctx) });
}

/** Admins may act on anyone; a user on their own account only. Checked before the lookup, so a 403 reveals nothing. */
export function requireSelfOrAdmin(ctx: RequestContext, idOrEmail: string): void {
  if (isPrivileged(ctx)) return;
  if (!ctx.actorId || ctx.actorId !== idOrEmail.toLowerCase())
    throw forbidden('You may only do this for your own account (or as a platform administrator)');
}

/** A whole-number option in [min, max], or `dflt` when absent; a validation error names it otherwise. */
export function wholeNumber(
  v: number | undefined,
  name: string,
  min: number,
  max: number,
  dflt: number,
): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max)
    throw validation(`${name} must be a whole number from ${min} to ${max}`, { [name]: 'out of range' });
  return v;
}
