/**
 * Who may do what in an organization. Every organization route and command asks `requireOrgPermission`;
 * platform admins (`is_admin`) may do everything. A non-member learns nothing about an organization: it is
 * answered as not found, not as forbidden.
 */
import type { Deps } from '../deps.js';
import { forbidden, isJanuaError, type JanuaError, notFound } from '../errors.js';
import type { Organization } from '../orgs/model.js';
import { organizations } from '../store/repos/organizations.js';
import type { Executor } from '../store/store.js';
import type { User } from '../users/model.js';
import { BUILT_IN_ROLES, hasPermission, isBuiltInRole } from './permissions.js';

export interface OrgAccess {
  organization: Organization;
  /** The caller's role in the organization; null for a platform admin who is not a member. */
  role: string | null;
  permissions: readonly string[];
}

/** Permissions that a role name carries in an organization (built-in or custom). */
export async function rolePermissions(ex: Executor, orgId: string, role: string): Promise<readonly string[]> {
  if (isBuiltInRole(role)) return BUILT_IN_ROLES[role];
  return (await organizations.customRolePermissions(ex, orgId, role)) ?? [];
}

/**
 * Who asks: a signed-in user, or an operator (`id: null`, `isAdmin: true`) — the CLI acts as a platform admin.
 */
export interface Actor {
  id: string | null;
  isAdmin: boolean;
}

/** The operator at the command line: a platform admin who is nobody's member. */
export const CLI_ACTOR: Actor = { id: null, isAdmin: true };

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function orgAccess(deps: Pick<Deps, 'store'>, user: Actor, orgId: string): Promise<OrgAccess> {
  const ex = deps.store.db;
  const organization = UUID_PATTERN.test(orgId)
    ? await organizations.findById(ex, orgId.toLowerCase())
    : undefined;
  if (!organization) throw notFound('Organization not found');
  const role = user.id ? ((await organizations.memberRole(ex, organization.id, user.id)) ?? null) : null;
  if (role === null && !user.isAdmin) throw notFound('Organization not found');
  const permissions = user.isAdmin ? ['*'] : await rolePermissions(ex, organization.id, role!);
  return { organization, role, permissions };
}

/** Resolves the organization and checks one permission; 404 for non-members, 403 when the role lacks it. */
export async function requireOrgPermission(
  deps: Pick<Deps, 'store'>,
  user: Actor,
  orgId: string,
  permission: string,
): Promise<OrgAccess> {
  const access = await orgAccess(deps, user, orgId);
  if (!hasPermission(access.permissions, permission))
    throw forbidden(`Your role (${access.role}) lacks the ${permission} permission in this organization`);
  return access;
}

/** Platform-level admin routes (`/api/v1/admin/*`, user administration). */
export function requirePlatformAdmin(user: Pick<User, 'isAdmin'>): void {
  if (!user.isAdmin) throw forbidden('Platform administrator role required');
}

/**
 * `requireOrgPermission` for an object of an organization (a webhook endpoint, an SSO connection): a
 * non-member learns nothing — they get the object's own not-found — while a member whose role lacks the
 * permission is told so.
 */
export async function requireObjectPermission(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgId: string,
  permission: string,
  objectNotFound: () => JanuaError,
): Promise<void> {
  try {
    await requireOrgPermission(deps, actor, orgId, permission);
  } catch (err) {
    if (isJanuaError(err) && err.code === 'NOT_FOUND_ERROR') throw objectNotFound();
    throw err;
  }
}
