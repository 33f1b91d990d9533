/**
 * Organizations and their members: the one implementation behind `/api/v1/organizations…` and `janua orgs`.
 * Every call names its actor (a signed-in user, or the operator at the command line, who acts as a platform
 * admin) and is checked with the organization's RBAC; every change writes its audit row and domain event in
 * the same transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { signAccessToken } from '../auth/tokens.js';
import type { Deps } from '../deps.js';
import { conflict, forbidden, notFound, validation } from '../errors.js';
import { audit, type DomainEventType, emit, type RequestContext } from '../events/events.js';
import {
  type Actor,
  type OrgAccess,
  orgAccess,
  requireOrgPermission,
  rolePermissions,
} from '../rbac/access.js';
import { coversAll, hasPermission, isBuiltInRole } from '../rbac/permissions.js';
import { members, type OrganizationPatch, organizations, orgRoles } from '../store/repos/organizations.js';
import { users } from '../store/repos/users.js';
import type { Database } from '../store/schema.js';
import { type Executor, lockFor, type Store } from '../store/store.js';
import { breaksTextRule, textRuleError } from '../text.js';
import { normalizeEmail, type User } from '../users/model.js';
import { type Member, type Organization, SLUG_PATTERN } from './model.js';

export type OrgDeps = Pick<Deps, 'store' | 'clock'>;

/** An organization with the caller's role in it (null for a platform admin who is not a member). */
export interface OrgWithRole {
  organization: Organization;
  role: string | null;
}

/** Writes the audit row and the domain event of one organization change (same transaction). */
export async function record(
  tx: Executor,
  ctx: RequestContext,
  now: Date,
  e: {
    action: string;
    event: DomainEventType;
    orgId: string;
    target: { type: string; id: string };
    data?: Record<string, unknown>;
  },
): Promise<void> {
  const data = { organization_id: e.orgId, ...e.data };
  await audit(
    tx,
    ctx,
    { action: e.action, targetType: e.target.type, targetId: e.target.id, metadata: data },
    now,
  );
  await emit(tx, e.event, { type: 'organization', id: e.orgId }, data, now);
}

/** Serializes membership changes of one organization (the last-owner rule must see every concurrent change). */
export async function lockOrganization(
  store: Pick<Store, 'dialect'>,
  tx: Transaction<Database>,
  orgId: string,
): Promise<void> {
  await lockFor(store, tx, `organization:${orgId}`);
}

function checkSlug(slug: string): string {
  if (!SLUG_PATTERN.test(slug))
    throw validation(
      'slug must be 2–63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit',
      { slug: 'invalid' },
    );
  return slug;
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 200) throw validation('name must be 1–200 characters', { name: 'invalid' });
  if (breaksTextRule(n, 'single-line')) throw textRuleError('name', 'single-line');
  return n;
}

const slugTaken = (slug: string) => conflict(`The slug "${slug}" is already taken`);

export function isUniqueViolation(err: unknown): boolean {
  return /unique|duplicate key/i.test(String((err as Error)?.message ?? ''));
}

/** Resolves an organization by id or slug (command-line arguments accept either); unknown → NOT_FOUND. */
export async function findOrganization(deps: Pick<Deps, 'store'>, ref: string): Promise<Organization> {
  const org = /^[0-9a-f-]{36}$/i.test(ref)
    ? await organizations.findById(deps.store.db, ref.toLowerCase())
    : await organizations.findBySlug(deps.store.db, ref.toLowerCase());
  if (!org) throw notFound(`Organization ${ref} not found`);
  return org;
}

/** Resolves a user by id or email; unknown → NOT_FOUND. */
async function findUserRef(ex: Executor, ref: { userId?: string | undefined; email?: string | undefined }) {
  let user: User | undefined;
  if (ref.userId)
    user = /^[0-9a-f-]{36}$/i.test(ref.userId) ? await users.findById(ex, ref.userId) : undefined;
  else if (ref.email) user = await users.findByEmail(ex, normalizeEmail(ref.email));
  else throw validation('user_id or email is required', { user_id: 'required' });
  if (!user || user.status === 'deleted') throw notFound('User not found');
  return user;
}

export interface CreateOrganizationInput {
  name: string;
  slug: string;
  description?: string | null | undefined;
  logoUrl?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Who becomes the owner; defaults to the actor (the command line must name one). */
  ownerId?: string | undefined;
}

/** Creates an organization; its creator (or the named owner) becomes its owner. Slug taken → CONFLICT. */
export async function createOrganization(
  deps: OrgDeps,
  actor: Actor,
  input: CreateOrganizationInput,
  ctx: RequestContext,
): Promise<OrgWithRole> {
  const name = checkName(input.name);
  const slug = checkSlug(input.slug);
  const ownerRef = input.ownerId ?? actor.id;
  if (!ownerRef) throw validation('An owner is required (--owner USER)', { owner: 'required' });
  if (input.ownerId && input.ownerId !== actor.id && !actor.isAdmin)
    throw forbidden('Only platform administrators may create an organization for someone else');
  const owner = await findUserRef(
    deps.store.db,
    ownerRef.includes('@') ? { email: ownerRef } : { userId: ownerRef },
  );
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      if (await organizations.findBySlug(tx, slug)) throw slugTaken(slug);
      const organization = await organizations.insert(tx, {
        id: randomUUID(),
        name,
        slug,
        description: input.description ?? null,
        logoUrl: input.logoUrl ?? null,
        metadata: input.metadata ?? {},
        requireMfa: false,
        createdBy: actor.id,
        createdAt: now,
        updatedAt: now,
      });
      await members.insert(tx, {
        orgId: organization.id,
        userId: owner.id,
        role: 'owner',
        invitedBy: null,
        now,
      });
      const target = { type: 'organization', id: organization.id };
      await record(tx, ctx, now, {
        action: 'organization.create',
        event: 'organization.created',
        orgId: organization.id,
        target,
        data: { name, slug, owner_id: owner.id },
      });
      await record(tx, ctx, now, {
        action: 'organization.member.add',
        event: 'organization.member.added',
        orgId: organization.id,
        target: { type: 'user', id: owner.id },
        data: { user_id: owner.id, role: 'owner' },
      });
      return { organization, role: owner.id === actor.id ? 'owner' : null };
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) throw slugTaken(slug);
      throw err;
    });
}

/** The organizations the user belongs to, with the user's role in each. */
export async function listMyOrganizations(deps: Pick<Deps, 'store'>, userId: string): Promise<OrgWithRole[]> {
  const rows = await organizations.listForUser(deps.store.db, userId);
  return rows.map((r) => ({ organization: r.org, role: r.role }));
}

/** Every organization (operators). */
export async function listAllOrganizations(
  deps: Pick<Deps, 'store'>,
  page: { limit: number; offset: number },
): Promise<Organization[]> {
  return organizations.listAll(deps.store.db, page.limit, page.offset);
}

export async function getOrganization(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgId: string,
): Promise<OrgAccess> {
  return requireOrgPermission(deps, actor, orgId, 'organization:read');
}

export async function getOrganizationBySlug(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  slug: string,
): Promise<OrgAccess> {
  const org = await organizations.findBySlug(deps.store.db, slug.toLowerCase());
  if (!org) throw notFound('Organization not found');
  return getOrganization(deps, actor, org.id);
}

export async function updateOrganization(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  patch: OrganizationPatch,
  ctx: RequestContext,
): Promise<OrgAccess> {
  const access = await requireOrgPermission(deps, actor, orgId, 'organization:update');
  const p: OrganizationPatch = { ...patch };
  if (p.name !== undefined) p.name = checkName(p.name);
  if (p.slug !== undefined) p.slug = checkSlug(p.slug);
  const fields = Object.keys(p).filter((k) => p[k as keyof OrganizationPatch] !== undefined);
  if (!fields.length) throw validation('Nothing to update', { body: 'empty' });
  const now = deps.clock.now();
  const id = access.organization.id;
  const organization = await deps.store
    .transaction(async (tx) => {
      if (
        p.slug !== undefined &&
        p.slug !== access.organization.slug &&
        (await organizations.findBySlug(tx, p.slug))
      )
        throw slugTaken(p.slug);
      const org = await organizations.update(tx, id, p, now);
      if (!org) throw notFound('Organization not found');
      await record(tx, ctx, now, {
        action: 'organization.update',
        event: 'organization.updated',
        orgId: id,
        target: { type: 'organization', id },
        data: { fields },
      });
      return org;
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) throw slugTaken(p.slug ?? '');
      throw err;
    });
  return { ...access, organization };
}

/** Deletes an organization with its memberships, roles and invitations (owners and platform admins). */
export async function deleteOrganization(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  ctx: RequestContext,
): Promise<Organization> {
  const { organization } = await requireOrgPermission(deps, actor, orgId, 'organization:delete');
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await organizations.delete(tx, organization.id))) throw notFound('Organization not found');
    await record(tx, ctx, now, {
      action: 'organization.delete',
      event: 'organization.deleted',
      orgId: organization.id,
      target: { type: 'organization', id: organization.id },
      data: { slug: organization.slug, name: organization.name },
    });
  });
  return organization;
}

export async function listMembers(deps: Pick<Deps, 'store'>, actor: Actor, orgId: string): Promise<Member[]> {
  const { organization } = await requireOrgPermission(deps, actor, orgId, 'members:read');
  return members.list(deps.store.db, organization.id);
}

/**
 * Checks that `role` exists in the organization (built-in or custom) and that the actor may hand it out: the
 * owner role needs `owners:manage`; any other role needs every permission it carries (no one grants more than
 * they hold).
 */
export async function checkAssignable(ex: Executor, access: OrgAccess, role: string): Promise<void> {
  if (!isBuiltInRole(role) && !(await orgRoles.findByName(ex, access.organization.id, role)))
    throw validation(
      `Unknown role "${role}": use owner, admin, member, viewer or a custom role of this organization`,
      {
        role: 'unknown',
      },
    );
  await checkManageable(ex, access, role);
}

/** Whether the actor may give or take a role away from someone. */
async function checkManageable(ex: Executor, access: OrgAccess, role: string): Promise<void> {
  if (role === 'owner') {
    if (!hasPermission(access.permissions, 'owners:manage'))
      throw forbidden('Only owners may grant or take the owner role (owners:manage)');
    return;
  }
  const perms = await rolePermissions(ex, access.organization.id, role);
  if (!coversAll(access.permissions, perms))
    throw forbidden(`Your role (${access.role}) does not hold every permission of the role "${role}"`);
}

const LAST_OWNER =
  'An organization must keep at least one owner: make another member owner (or transfer ownership) first';

async function ensureAnotherOwner(ex: Executor, orgId: string): Promise<void> {
  if ((await members.countWithRole(ex, orgId, 'owner')) <= 1) throw conflict(LAST_OWNER);
}

export interface AddMemberInput {
  userId?: string | undefined;
  email?: string | undefined;
  role: string;
}

/** Adds an existing user to the organization. Already a member → CONFLICT; unknown user → NOT_FOUND. */
export async function addMember(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  input: AddMemberInput,
  ctx: RequestContext,
): Promise<Member> {
  const access = await requireOrgPermission(deps, actor, orgId, 'members:write');
  const id = access.organization.id;
  await checkAssignable(deps.store.db, access, input.role);
  const user = await findUserRef(deps.store.db, input);
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      await lockOrganization(deps.store, tx, id);
      if (await organizations.memberRole(tx, id, user.id))
        throw conflict(`${user.email} is already a member`);
      await members.insert(tx, { orgId: id, userId: user.id, role: input.role, invitedBy: actor.id, now });
      await record(tx, ctx, now, {
        action: 'organization.member.add',
        event: 'organization.member.added',
        orgId: id,
        target: { type: 'user', id: user.id },
        data: { user_id: user.id, role: input.role },
      });
      return (await members.find(tx, id, user.id))!;
    })
    .catch((err: unknown) => {
      if (isUniqueViolation(err)) throw conflict(`${user.email} is already a member`);
      throw err;
    });
}

async function memberOrNotFound(ex: Executor, orgId: string, userId: string): Promise<Member> {
  const m = /^[0-9a-f-]{36}$/i.test(userId) ? await members.find(ex, orgId, userId.toLowerCase()) : undefined;
  if (!m) throw notFound('Member not found');
  return m;
}

/**
 * Removes a member. Anyone may leave (remove themself); removing others needs `members:delete` and the
 * right to take their role. The last owner cannot leave → CONFLICT.
 */
export async function removeMember(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  userId: string,
  ctx: RequestContext,
): Promise<Member> {
  const self = actor.id !== null && actor.id === userId.toLowerCase();
  const access = self
    ? await orgAccess(deps, actor, orgId)
    : await requireOrgPermission(deps, actor, orgId, 'members:delete');
  const id = access.organization.id;
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    await lockOrganization(deps.store, tx, id);
    const member = await memberOrNotFound(tx, id, userId);
    if (!self) await checkManageable(tx, access, member.role);
    if (member.role === 'owner') await ensureAnotherOwner(tx, id);
    await members.remove(tx, id, member.userId);
    await record(tx, ctx, now, {
      action: 'organization.member.remove',
      event: 'organization.member.removed',
      orgId: id,
      target: { type: 'user', id: member.userId },
      data: { user_id: member.userId, role: member.role, self },
    });
    return member;
  });
}

/** Changes a member's role; demoting the last owner → CONFLICT. */
export async function setMemberRole(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  userId: string,
  role: string,
  ctx: RequestContext,
): Promise<Member> {
  const access = await requireOrgPermission(deps, actor, orgId, 'members:write');
  const id = access.organization.id;
  await checkAssignable(deps.store.db, access, role);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    await lockOrganization(deps.store, tx, id);
    const member = await memberOrNotFound(tx, id, userId);
    if (member.role === role) return member;
    await checkManageable(tx, access, member.role);
    if (member.role === 'owner') await ensureAnotherOwner(tx, id);
    await members.setRole(tx, id, member.userId, role);
    await record(tx, ctx, now, {
      action: 'organization.member.role_change',
      event: 'organization.member.role_changed',
      orgId: id,
      target: { type: 'user', id: member.userId },
      data: { user_id: member.userId, from: member.role, to: role },
    });
    return { ...member, role };
  });
}

/**
 * Makes a member the owner. An owner hands over: they become admin. A platform admin who is not a member
 * hands over on behalf of every current owner, who all become admins.
 */
export async function transferOwnership(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  userId: string,
  ctx: RequestContext,
): Promise<Member[]> {
  const access = await requireOrgPermission(deps, actor, orgId, 'owners:manage');
  const id = access.organization.id;
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    await lockOrganization(deps.store, tx, id);
    const target = await memberOrNotFound(tx, id, userId);
    if (target.userId === actor.id) throw conflict('You already own this organization');
    const previous =
      access.role === 'owner' && actor.id
        ? [actor.id]
        : (await members.list(tx, id)).filter((m) => m.role === 'owner').map((m) => m.userId);
    const changed: Member[] = [];
    if (target.role !== 'owner') {
      await members.setRole(tx, id, target.userId, 'owner');
      changed.push({ ...target, role: 'owner' });
    }
    for (const uid of previous.filter((u) => u !== target.userId)) {
      await members.setRole(tx, id, uid, 'admin');
      changed.push({ ...(await members.find(tx, id, uid))! });
    }
    await record(tx, ctx, now, {
      action: 'organization.ownership.transfer',
      event: 'organization.ownership_transferred',
      orgId: id,
      target: { type: 'user', id: target.userId },
      data: { to: target.userId, from: previous, previous_owners_now: 'admin' },
    });
    return changed;
  });
}

/**
 * A new access token for the caller's session scoped to an organization (`org` claim), or unscoped with
 * `null`. Only members (and platform admins) may switch into an organization.
 */
export async function switchOrganization(
  deps: Pick<Deps, 'store' | 'clock' | 'keys' | 'config' | 'metrics'>,
  who: { user: User; sessionId: string },
  orgId: string | null,
): Promise<{
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  organization_id: string | null;
}> {
  let org: string | undefined;
  if (orgId !== null) org = (await orgAccess(deps, who.user, orgId)).organization.id;
  const access_token = await signAccessToken(deps, {
    userId: who.user.id,
    sessionId: who.sessionId,
    email: who.user.email,
    ...(org ? { org } : {}),
  });
  return {
    access_token,
    token_type: 'bearer',
    expires_in: deps.config.accessTokenMinutes * 60,
    organization_id: org ?? null,
  };
}
