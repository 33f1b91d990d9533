import type { Selectable } from 'kysely';
import type { Invitation, Member, Organization, OrgRole } from '../../orgs/model.js';
import { json, toBool, toDate, toDateOrNull, toJson } from '../codec.js';
import type {
  OrganizationInvitationsTable,
  OrganizationRolesTable,
  OrganizationsTable,
  UsersTable,
} from '../schema.js';
import type { Executor } from '../store.js';

export function decodeOrganization(r: Selectable<OrganizationsTable>): Organization {
  return {
    id: r.id,
    name: r.name,
    slug: r.slug,
    description: r.description,
    logoUrl: r.logo_url,
    metadata: toJson<Record<string, unknown>>(r.metadata) ?? {},
    requireMfa: toBool(r.require_mfa ?? false),
    createdBy: r.created_by,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

export interface OrganizationPatch {
  name?: string | undefined;
  slug?: string | undefined;
  description?: string | null | undefined;
  logoUrl?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Members must have a second factor to sign in (migration 0009). */
  requireMfa?: boolean | undefined;
}

/** Organizations and their memberships. */
export const organizations = {
  async findById(ex: Executor, id: string): Promise<Organization | undefined> {
    const row = await ex.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeOrganization(row);
  },

  async findBySlug(ex: Executor, slug: string): Promise<Organization | undefined> {
    const row = await ex.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst();
    return row && decodeOrganization(row);
  },

  async insert(ex: Executor, o: Organization): Promise<Organization> {
    const row = await ex
      .insertInto('organizations')
      .values({
        id: o.id,
        name: o.name,
        slug: o.slug,
        description: o.description,
        logo_url: o.logoUrl,
        metadata: json(o.metadata),
        require_mfa: o.requireMfa,
        created_by: o.createdBy,
        created_at: o.createdAt,
        updated_at: o.updatedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return decodeOrganization(row);
  },

  async update(ex: Executor, id: string, p: OrganizationPatch, now: Date): Promise<Organization | undefined> {
    const values: Record<string, unknown> = { updated_at: now };
    if (p.name !== undefined) values['name'] = p.name;
    if (p.slug !== undefined) values['slug'] = p.slug;
    if (p.description !== undefined) values['description'] = p.description;
    if (p.logoUrl !== undefined) values['logo_url'] = p.logoUrl;
    if (p.metadata !== undefined) values['metadata'] = json(p.metadata);
    if (p.requireMfa !== undefined) values['require_mfa'] = p.requireMfa;
    const row = await ex
      .updateTable('organizations')
      .set(values)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && decodeOrganization(row);
  },

  async delete(ex: Executor, id: string): Promise<boolean> {
    const r = await ex.deleteFrom('organizations').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },

  /** The organizations a user belongs to, with the user's role in each, oldest membership first. */
  async listForUser(ex: Executor, userId: string): Promise<Array<{ org: Organization; role: string }>> {
    const rows = await ex
      .selectFrom('organizations as o')
      .innerJoin('organization_members as m', 'm.organization_id', 'o.id')
      .selectAll('o')
      .select('m.role as member_role')
      .where('m.user_id', '=', userId)
      .orderBy('m.joined_at')
      .orderBy('o.id')
      .execute();
    return rows.map((r) => ({ org: decodeOrganization(r), role: r.member_role }));
  },

  /** Every organization (operators), by slug. */
  async listAll(ex: Executor, limit: number, offset: number): Promise<Organization[]> {
    const rows = await ex
      .selectFrom('organizations')
      .selectAll()
      .orderBy('slug')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(decodeOrganization);
  },

  /** The member's role name in the organization, or undefined when not a member. */
  async memberRole(ex: Executor, orgId: string, userId: string): Promise<string | undefined> {
    const row = await ex
      .selectFrom('organization_members')
      .select('role')
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  },

  /** Permissions of a custom role of the organization, by name. */
  async customRolePermissions(ex: Executor, orgId: string, name: string): Promise<string[] | undefined> {
    const row = await ex
      .selectFrom('organization_roles')
      .select('permissions')
      .where('organization_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toJson<string[]>(row.permissions) : undefined;
  },
};

type MemberRow = Pick<
  Selectable<UsersTable>,
  'email' | 'first_name' | 'last_name' | 'display_name' | 'status'
> & {
  organization_id: string;
  user_id: string;
  role: string;
  joined_at: Date | number | string;
  invited_by: string | null;
};

function decodeMember(r: MemberRow): Member {
  return {
    organizationId: r.organization_id,
    userId: r.user_id,
    role: r.role,
    joinedAt: toDate(r.joined_at),
    invitedBy: r.invited_by,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    displayName: r.display_name,
    status: r.status,
  };
}

export const members = {
  async list(ex: Executor, orgId: string): Promise<Member[]> {
    const rows = await members
      .query(ex)
      .where('m.organization_id', '=', orgId)
      .orderBy('m.joined_at')
      .orderBy('m.user_id')
      .execute();
    return rows.map(decodeMember);
  },

  async find(ex: Executor, orgId: string, userId: string): Promise<Member | undefined> {
    const row = await members
      .query(ex)
      .where('m.organization_id', '=', orgId)
      .where('m.user_id', '=', userId)
      .executeTakeFirst();
    return row && decodeMember(row);
  },

  query(ex: Executor) {
    return ex
      .selectFrom('organization_members as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select([
        'm.organization_id',
        'm.user_id',
        'm.role',
        'm.joined_at',
        'm.invited_by',
        'u.email',
        'u.first_name',
        'u.last_name',
        'u.display_name',
        'u.status',
      ]);
  },

  async insert(
    ex: Executor,
    m: { orgId: string; userId: string; role: string; invitedBy: string | null; now: Date },
  ): Promise<void> {
    await ex
      .insertInto('organization_members')
      .values({
        organization_id: m.orgId,
        user_id: m.userId,
        role: m.role,
        joined_at: m.now,
        invited_by: m.invitedBy,
      })
      .execute();
  },

  async setRole(ex: Executor, orgId: string, userId: string, role: string): Promise<boolean> {
    const r = await ex
      .updateTable('organization_members')
      .set({ role })
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  async remove(ex: Executor, orgId: string, userId: string): Promise<boolean> {
    const r = await ex
      .deleteFrom('organization_members')
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },

  /** How many members hold `role` (the last-owner rule, the delete-role guard). */
  async countWithRole(ex: Executor, orgId: string, role: string): Promise<number> {
    const r = await ex
      .selectFrom('organization_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', orgId)
      .where('role', '=', role)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  async renameRole(ex: Executor, orgId: string, from: string, to: string): Promise<void> {
    await ex
      .updateTable('organization_members')
      .set({ role: to })
      .where('organization_id', '=', orgId)
      .where('role', '=', from)
      .execute();
  },
};

function decodeRole(r: Selectable<OrganizationRolesTable>): OrgRole {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    description: r.description,
    permissions: toJson<string[]>(r.permissions),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Custom roles of organizations. */
export const orgRoles = {
  async list(ex: Executor, orgId: string): Promise<OrgRole[]> {
    const rows = await ex
      .selectFrom('organization_roles')
      .selectAll()
      .where('organization_id', '=', orgId)
      .orderBy('name')
      .execute();
    return rows.map(decodeRole);
  },

  async findById(ex: Executor, id: string): Promise<OrgRole | undefined> {
    const row = await ex.selectFrom('organization_roles').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeRole(row);
  },

  async findByName(ex: Executor, orgId: string, name: string): Promise<OrgRole | undefined> {
    const row = await ex
      .selectFrom('organization_roles')
      .selectAll()
      .where('organization_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && decodeRole(row);
  },

  async insert(ex: Executor, r: OrgRole): Promise<OrgRole> {
    const row = await ex
      .insertInto('organization_roles')
      .values({
        id: r.id,
        organization_id: r.organizationId,
        name: r.name,
        description: r.description,
        permissions: json(r.permissions),
        created_at: r.createdAt,
        updated_at: r.updatedAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return decodeRole(row);
  },

  async update(
    ex: Executor,
    id: string,
    p: {
      name?: string | undefined;
      description?: string | null | undefined;
      permissions?: string[] | undefined;
    },
    now: Date,
  ): Promise<OrgRole | undefined> {
    const values: Record<string, unknown> = { updated_at: now };
    if (p.name !== undefined) values['name'] = p.name;
    if (p.description !== undefined) values['description'] = p.description;
    if (p.permissions !== undefined) values['permissions'] = json(p.permissions);
    const row = await ex
      .updateTable('organization_roles')
      .set(values)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && decodeRole(row);
  },

  async delete(ex: Executor, id: string): Promise<void> {
    await ex.deleteFrom('organization_roles').where('id', '=', id).execute();
  },
};

function decodeInvitation(r: Selectable<OrganizationInvitationsTable>): Invitation {
  return {
    id: r.id,
    organizationId: r.organization_id,
    email: r.email,
    role: r.role,
    invitedBy: r.invited_by,
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
    acceptedAt: toDateOrNull(r.accepted_at),
    acceptedBy: r.accepted_by,
    revokedAt: toDateOrNull(r.revoked_at),
  };
}

/** Invitations; the token is stored only as its hash. */
export const invitations = {
  async insert(ex: Executor, i: Invitation, tokenHash: string): Promise<Invitation> {
    const row = await ex
      .insertInto('organization_invitations')
      .values({
        id: i.id,
        organization_id: i.organizationId,
        email: i.email,
        role: i.role,
        token_hash: tokenHash,
        invited_by: i.invitedBy,
        created_at: i.createdAt,
        expires_at: i.expiresAt,
        accepted_at: null,
        accepted_by: null,
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return decodeInvitation(row);
  },

  async list(ex: Executor, orgId: string): Promise<Invitation[]> {
    const rows = await ex
      .selectFrom('organization_invitations')
      .selectAll()
      .where('organization_id', '=', orgId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(decodeInvitation);
  },

  async findById(ex: Executor, orgId: string, id: string): Promise<Invitation | undefined> {
    const row = await ex
      .selectFrom('organization_invitations')
      .selectAll()
      .where('organization_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeInvitation(row);
  },

  async findByTokenHash(ex: Executor, hash: string): Promise<Invitation | undefined> {
    const row = await ex
      .selectFrom('organization_invitations')
      .selectAll()
      .where('token_hash', '=', hash)
      .executeTakeFirst();
    return row && decodeInvitation(row);
  },

  /** Open (neither accepted nor revoked, not expired) invitations of an email to an organization. */
  async findOpen(ex: Executor, orgId: string, email: string, now: Date): Promise<Invitation | undefined> {
    const row = await ex
      .selectFrom('organization_invitations')
      .selectAll()
      .where('organization_id', '=', orgId)
      .where('email', '=', email)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && decodeInvitation(row);
  },

  async countOpenWithRole(ex: Executor, orgId: string, role: string, now: Date): Promise<number> {
    const r = await ex
      .selectFrom('organization_invitations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('organization_id', '=', orgId)
      .where('role', '=', role)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  async renameRole(ex: Executor, orgId: string, from: string, to: string): Promise<void> {
    await ex
      .updateTable('organization_invitations')
      .set({ role: to })
      .where('organization_id', '=', orgId)
      .where('role', '=', from)
      .where('accepted_at', 'is', null)
      .execute();
  },

  /** Marks an open invitation accepted; false when it was not open any more (single use, race-safe). */
  async accept(ex: Executor, id: string, userId: string, now: Date): Promise<boolean> {
    const r = await ex
      .updateTable('organization_invitations')
      .set({ accepted_at: now, accepted_by: userId })
      .where('id', '=', id)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  async revoke(ex: Executor, id: string, now: Date): Promise<boolean> {
    const r = await ex
      .updateTable('organization_invitations')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  /** A new token and expiry for an invitation that is neither accepted nor revoked; the old token dies. */
  async renew(ex: Executor, id: string, tokenHash: string, expiresAt: Date): Promise<Invitation | undefined> {
    const row = await ex
      .updateTable('organization_invitations')
      .set({ token_hash: tokenHash, expires_at: expiresAt })
      .where('id', '=', id)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return row && decodeInvitation(row);
  },
};
