import type { Selectable } from 'kysely';
import type { Organization } from '../../orgs/model.js';
import { toDate, toJson } from '../codec.js';
import type { OrganizationsTable } from '../schema.js';
import type { Executor } from '../store.js';

export function decodeOrganization(r: Selectable<OrganizationsTable>): Organization {
  return {
    id: r.id,
    name: r.name,
    slug: r.slug,
    description: r.description,
    logoUrl: r.logo_url,
    metadata: toJson<Record<string, unknown>>(r.metadata) ?? {},
    createdBy: r.created_by,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Lookups the access checks need; the organization service extends this repository with its writes. */
export const organizations = {
  async findById(ex: Executor, id: string): Promise<Organization | undefined> {
    const row = await ex.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeOrganization(row);
  },

  async findBySlug(ex: Executor, slug: string): Promise<Organization | undefined> {
    const row = await ex.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst();
    return row && decodeOrganization(row);
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
