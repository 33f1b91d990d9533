/**
 * Organization data about a user: memberships, invitations sent to their address, and the "who did it"
 * columns that name them on other rows (creator of an organization or a webhook, inviter, acceptor), which
 * erasure clears: the organization and its other members stay as they are.
 */
import type { PersonalDataProvider } from '../provider.js';
import { affected, iso } from './dates.js';

export const organizationsProvider: PersonalDataProvider = {
  name: 'organizations',
  description: 'Organization memberships and roles, invitations to this address, organizations created',
  covers: [
    'organization_members.user_id',
    'organization_members.invited_by',
    'organization_invitations.email',
    'organization_invitations.invited_by',
    'organization_invitations.accepted_by',
    'organizations.created_by',
    'webhook_endpoints.created_by',
  ],
  async export(ex, s) {
    const memberships = await ex
      .selectFrom('organization_members as m')
      .innerJoin('organizations as o', 'o.id', 'm.organization_id')
      .select(['o.id', 'o.name', 'o.slug', 'm.role', 'm.joined_at'])
      .where('m.user_id', '=', s.userId)
      .orderBy('m.joined_at')
      .execute();
    const invitations = await ex
      .selectFrom('organization_invitations as i')
      .innerJoin('organizations as o', 'o.id', 'i.organization_id')
      .select([
        'o.id',
        'o.name',
        'i.email',
        'i.role',
        'i.created_at',
        'i.expires_at',
        'i.accepted_at',
        'i.revoked_at',
      ])
      .where('i.email', '=', s.email)
      .orderBy('i.created_at')
      .execute();
    const created = await ex
      .selectFrom('organizations')
      .select(['id', 'name', 'created_at'])
      .where('created_by', '=', s.userId)
      .execute();
    return {
      memberships: memberships.map((m) => ({
        organization_id: m.id,
        name: m.name,
        slug: m.slug,
        role: m.role,
        joined_at: iso(m.joined_at),
      })),
      invitations: invitations.map((i) => ({
        organization_id: i.id,
        organization_name: i.name,
        email: i.email,
        role: i.role,
        created_at: iso(i.created_at),
        expires_at: iso(i.expires_at),
        accepted_at: iso(i.accepted_at),
        revoked_at: iso(i.revoked_at),
      })),
      organizations_created: created.map((o) => ({ id: o.id, name: o.name, created_at: iso(o.created_at) })),
    };
  },
  async erase(tx, s) {
    let n = affected(
      await tx.deleteFrom('organization_members').where('user_id', '=', s.userId).executeTakeFirst(),
    );
    n += affected(
      await tx.deleteFrom('organization_invitations').where('email', '=', s.email).executeTakeFirst(),
    );
    n += affected(
      await tx
        .updateTable('organization_members')
        .set({ invited_by: null })
        .where('invited_by', '=', s.userId)
        .executeTakeFirst(),
    );
    for (const col of ['invited_by', 'accepted_by'] as const)
      n += affected(
        await tx
          .updateTable('organization_invitations')
          .set({ [col]: null })
          .where(col, '=', s.userId)
          .executeTakeFirst(),
      );
    n += affected(
      await tx
        .updateTable('organizations')
        .set({ created_by: null })
        .where('created_by', '=', s.userId)
        .executeTakeFirst(),
    );
    n += affected(
      await tx
        .updateTable('webhook_endpoints')
        .set({ created_by: null })
        .where('created_by', '=', s.userId)
        .executeTakeFirst(),
    );
    return n;
  },
};
