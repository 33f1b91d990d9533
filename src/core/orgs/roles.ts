/**
 * Roles: the four built-in ones (fixed) and custom roles per organization, assignable to members like the
 * built-ins; plus the permission check of `GET /api/v1/rbac/check`.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { conflict, forbidden, isJanuaError, notFound, validation } from '../errors.js';
import type { RequestContext } from '../events/events.js';
import { type Actor, orgAccess, requireOrgPermission, UUID_PATTERN } from '../rbac/access.js';
import {
  BUILT_IN_ROLE_NAMES,
  BUILT_IN_ROLES,
  coversAll,
  hasPermission,
  isBuiltInRole,
  PERMISSION_PATTERN,
} from '../rbac/permissions.js';
import { invitations, members, organizations, orgRoles } from '../store/repos/organizations.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import { type OrgRole, type PublicRole, presentRole, ROLE_NAME_PATTERN } from './model.js';
import { isUniqueViolation, type OrgDeps, record } from './service.js';

const BUILT_IN_DESCRIPTIONS: Record<string, string> = {
  owner: 'Everything, including deleting the organization and managing owners',
  admin: 'Manage settings, members, invitations and custom roles; not owners',
  member: 'Read the organization, its members and roles',
  viewer: 'Read the organization and its members',
};

export function builtInRoles(): PublicRole[] {
  return BUILT_IN_ROLE_NAMES.map((name) => ({
    id: null,
    organization_id: null,
    name,
    description: BUILT_IN_DESCRIPTIONS[name] ?? null,
    permissions: [...BUILT_IN_ROLES[name]],
    built_in: true,
    created_at: null,
    updated_at: null,
  }));
}

/** Built-in roles; with an organization, also its custom roles (needs `roles:read` there). */
export async function listRoles(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgId?: string,
): Promise<PublicRole[]> {
  if (orgId === undefined) return builtInRoles();
  const { organization } = await requireOrgPermission(deps, actor, orgId, 'roles:read');
  const custom = await orgRoles.list(deps.store.db, organization.id);
  return [...builtInRoles(), ...custom.map(presentRole)];
}

function checkRoleName(name: string): string {
  if (isBuiltInRole(name)) throw conflict(`"${name}" is a built-in role name and is reserved`);
  if (!ROLE_NAME_PATTERN.test(name))
    throw validation(
      'role name must be 2–50 lower-case letters, digits, "_" or "-", starting with a letter',
      {
        name: 'invalid',
      },
    );
  return name;
}

function checkPermissions(permissions: string[]): string[] {
  if (permissions.length === 0 || permissions.length > 100)
    throw validation('permissions must list 1–100 entries', { permissions: 'invalid' });
  const bad = permissions.find((p) => !PERMISSION_PATTERN.test(p));
  if (bad !== undefined)
    throw validation(`"${bad}" is not a permission: use resource:action, resource:*, *:action or *`, {
      permissions: 'invalid',
    });
  return [...new Set(permissions)];
}

function checkGrantable(held: readonly string[], role: string | null, permissions: string[]): void {
  if (!coversAll(held, permissions))
    throw forbidden(`Your role (${role}) cannot grant permissions it does not hold`);
}

const nameTaken = (name: string) => conflict(`A role named "${name}" already exists in this organization`);

export interface CreateRoleInput {
  organizationId: string;
  name: string;
  description?: string | null | undefined;
  permissions: string[];
}

export async function createRole(
  deps: OrgDeps,
  actor: Actor,
  input: CreateRoleInput,
  ctx: RequestContext,
): Promise<OrgRole> {
  const access = await requireOrgPermission(deps, actor, input.organizationId, 'roles:write');
  const id = access.organization.id;
  const name = checkRoleName(input.name);
  const permissions = checkPermissions(input.permissions);
  checkGrantable(access.permissions, access.role, permissions);
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      if (await orgRoles.findByName(tx, id, name)) throw nameTaken(name);
      const role = await orgRoles.insert(tx, {
        id: randomUUID(),
        organizationId: id,
        name,
        description: input.description ?? null,
        permissions,
        createdAt: now,
        updatedAt: now,
      });
      await record(tx, ctx, now, {
        action: 'organization.role.create',
        event: 'organization.role.created',
        orgId: id,
        target: { type: 'role', id: role.id },
        data: { role_id: role.id, name, permissions },
      });
      return role;
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) throw nameTaken(name);
      throw err;
    });
}

/** A custom role by id (or, for the command line, by name within an organization). */
export async function findRole(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  ref: string,
  orgId?: string,
): Promise<OrgRole> {
  const ex = deps.store.db;
  const role = UUID_PATTERN.test(ref)
    ? await orgRoles.findById(ex, ref.toLowerCase())
    : orgId
      ? await orgRoles.findByName(ex, orgId, ref)
      : undefined;
  if (!role || (orgId && role.organizationId !== orgId)) throw notFound('Role not found');
  // Non-members of the role's organization learn nothing about it.
  await orgAccess(deps, actor, role.organizationId).catch((err: unknown) => {
    throw isJanuaError(err) ? notFound('Role not found') : err;
  });
  return role;
}

async function roleInUse(ex: Executor, role: OrgRole, now: Date): Promise<void> {
  const n = await members.countWithRole(ex, role.organizationId, role.name);
  const open = await invitations.countOpenWithRole(ex, role.organizationId, role.name, now);
  if (n || open)
    throw conflict(
      `The role "${role.name}" is still assigned (${n} member(s), ${open} pending invitation(s)): reassign them first`,
    );
}

export async function updateRole(
  deps: OrgDeps,
  actor: Actor,
  roleId: string,
  patch: {
    name?: string | undefined;
    description?: string | null | undefined;
    permissions?: string[] | undefined;
  },
  ctx: RequestContext,
): Promise<OrgRole> {
  const role = await findRole(deps, actor, roleId);
  const access = await requireOrgPermission(deps, actor, role.organizationId, 'roles:write');
  const name = patch.name === undefined ? undefined : checkRoleName(patch.name);
  const permissions = patch.permissions === undefined ? undefined : checkPermissions(patch.permissions);
  // Changing a role changes what its holders may do: the actor must hold both the old and the new grants.
  checkGrantable(access.permissions, access.role, [...role.permissions, ...(permissions ?? [])]);
  const fields = Object.keys(patch).filter((k) => patch[k as keyof typeof patch] !== undefined);
  if (!fields.length) throw validation('Nothing to update', { body: 'empty' });
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      if (name !== undefined && name !== role.name) {
        if (await orgRoles.findByName(tx, role.organizationId, name)) throw nameTaken(name);
        await members.renameRole(tx, role.organizationId, role.name, name);
        await invitations.renameRole(tx, role.organizationId, role.name, name);
      }
      const updated = await orgRoles.update(
        tx,
        role.id,
        { name, description: patch.description, permissions },
        now,
      );
      if (!updated) throw notFound('Role not found');
      await record(tx, ctx, now, {
        action: 'organization.role.update',
        event: 'organization.role.updated',
        orgId: role.organizationId,
        target: { type: 'role', id: role.id },
        data: { role_id: role.id, fields, name: updated.name, permissions: updated.permissions },
      });
      return updated;
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) throw nameTaken(name ?? '');
      throw err;
    });
}

/** Deletes a custom role; while any member or pending invitation holds it → CONFLICT. */
export async function deleteRole(
  deps: OrgDeps,
  actor: Actor,
  roleId: string,
  ctx: RequestContext,
): Promise<OrgRole> {
  const role = await findRole(deps, actor, roleId);
  const access = await requireOrgPermission(deps, actor, role.organizationId, 'roles:write');
  checkGrantable(access.permissions, access.role, role.permissions);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    await roleInUse(tx, role, now);
    await orgRoles.delete(tx, role.id);
    await record(tx, ctx, now, {
      action: 'organization.role.delete',
      event: 'organization.role.deleted',
      orgId: role.organizationId,
      target: { type: 'role', id: role.id },
      data: { role_id: role.id, name: role.name },
    });
    return role;
  });
}

export interface PermissionCheck {
  allowed: boolean;
  permission: string;
  resource_id: string | null;
  user_id: string;
  role: string | null;
}

/**
 * Whether a user holds `permission` in the organization `resourceId` (or, without one, platform-wide: only
 * platform admins do). Asking about another user is for platform admins. An unknown organization or a
 * non-member answers `allowed: false` — the check reveals nothing.
 */
export async function checkPermission(
  deps: Pick<Deps, 'store'>,
  caller: Actor & { id: string },
  q: { permission: string; resourceId?: string | undefined; userId?: string | undefined },
): Promise<PermissionCheck> {
  if (!PERMISSION_PATTERN.test(q.permission))
    throw validation('permission must look like resource:action', { permission: 'invalid' });
  let subject: Actor & { id: string } = caller;
  if (q.userId !== undefined && q.userId.toLowerCase() !== caller.id) {
    if (!caller.isAdmin) throw forbidden('Only platform administrators may check another user');
    const u = UUID_PATTERN.test(q.userId)
      ? await users.findById(deps.store.db, q.userId.toLowerCase())
      : undefined;
    if (!u) throw notFound('User not found');
    subject = { id: u.id, isAdmin: u.isAdmin };
  }
  const base = { permission: q.permission, resource_id: q.resourceId ?? null, user_id: subject.id };
  if (!q.resourceId) return { ...base, allowed: subject.isAdmin, role: null };
  const org = UUID_PATTERN.test(q.resourceId)
    ? await organizations.findById(deps.store.db, q.resourceId.toLowerCase())
    : undefined;
  if (!org) return { ...base, allowed: false, role: null };
  try {
    const access = await orgAccess(deps, subject, org.id);
    return { ...base, allowed: hasPermission(access.permissions, q.permission), role: access.role };
  } catch (err) {
    if (isJanuaError(err) && err.code === 'NOT_FOUND_ERROR') return { ...base, allowed: false, role: null };
    throw err;
  }
}
