/**
 * Who a validated assertion signs in: the user already linked to (connection, NameID); else an existing
 * user with the asserted email — only when they are already a member of the connection's organization or the
 * email's domain is one the organization verified (an IdP must never take over an account it does not
 * answer for); else a new user, just in time, when the connection allows it. The membership follows the
 * mapped role (groups → roles, else the default role); an owner's role is never changed by SSO.
 */
import { randomUUID } from 'node:crypto';
import { checkEmail } from '../auth/service.js';
import type { Deps } from '../deps.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { userIdentities } from '../store/repos/identities.js';
import { members, organizations } from '../store/repos/organizations.js';
import type { SsoConnection } from '../store/repos/sso-connections.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import type { User } from '../users/model.js';
import { orgOwnsEmailDomain } from './domains.js';
import type { ValidatedAssertion } from './saml-api.js';

/** Why a valid assertion still signs no one in (audited with the reason). */
export class ProvisionRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Profile {
  email: string;
  firstName: string | null;
  lastName: string | null;
  groups: string[];
}

const first = (a: ValidatedAssertion, name: string | undefined): string | null =>
  (name ? a.attributes[name]?.[0]?.trim() : undefined) || null;

/** The profile an assertion carries, through the connection's attribute mapping. */
export function profileOf(c: SsoConnection, a: ValidatedAssertion): Profile {
  const m = c.attributeMapping;
  const raw = first(a, m.email) ?? (a.nameId.includes('@') ? a.nameId : null);
  if (!raw)
    throw new ProvisionRefused(
      'no_email',
      m.email
        ? `The assertion has no "${m.email}" attribute (attribute_mapping.email) and its NameID is not an email address`
        : 'The NameID is not an email address and attribute_mapping.email names no attribute',
    );
  let email: string;
  try {
    email = checkEmail(raw);
  } catch {
    throw new ProvisionRefused('bad_email', 'The asserted email address is not a valid address');
  }
  return {
    email,
    firstName: first(a, m.first_name)?.slice(0, 100) ?? null,
    lastName: first(a, m.last_name)?.slice(0, 100) ?? null,
    groups: m.groups ? (a.attributes[m.groups] ?? []) : [],
  };
}

/** The role the groups map to (the first mapped group in the connection's order), else the default role. */
export function mappedRole(c: SsoConnection, groups: readonly string[]): { role: string; mapped: boolean } {
  for (const [group, role] of Object.entries(c.groupRoles))
    if (groups.includes(group)) return { role, mapped: true };
  return { role: c.defaultRole, mapped: false };
}

export const identityKey = (c: SsoConnection, nameId: string) => `${c.id}:${nameId}`;

export async function provisionUser(
  deps: Pick<Deps, 'store'>,
  tx: Executor,
  c: SsoConnection,
  a: ValidatedAssertion,
  ctx: RequestContext,
  now: Date,
): Promise<{ user: User; created: boolean; linked: boolean; role: string }> {
  const profile = profileOf(c, a);
  const key = identityKey(c, a.nameId);
  const owner = (await userIdentities.owners(tx, [{ provider: 'saml', providerUserId: key }])).get(
    `saml\u0000${key}`,
  );
  let user = owner ? await users.findById(tx, owner) : undefined;
  let created = false;
  let linked = false;
  if (!user) {
    user = await users.findByEmail(tx, profile.email);
    if (user) {
      const member = await organizations.memberRole(tx, c.organizationId, user.id);
      if (!member && !(await orgOwnsEmailDomain(deps, c.organizationId, profile.email)))
        throw new ProvisionRefused(
          'account_outside_organization',
          'An account with this email exists outside the organization and the email domain is not one the organization verified',
        );
      linked = true;
    } else {
      if (!c.jitProvisioning)
        throw new ProvisionRefused('jit_disabled', 'No account matches and just-in-time provisioning is off');
      user = await users.insert(tx, {
        id: randomUUID(),
        email: profile.email,
        firstName: profile.firstName,
        lastName: profile.lastName,
        isAdmin: false,
        emailVerified: await orgOwnsEmailDomain(deps, c.organizationId, profile.email),
        now,
      });
      created = true;
      await audit(
        tx,
        { ...ctx, actorType: 'system', actorId: null },
        {
          action: 'user.create',
          targetType: 'user',
          targetId: user.id,
          metadata: { via: 'sso', connection_id: c.id },
        },
        now,
      );
      await emit(
        tx,
        'user.created',
        { type: 'user', id: user.id },
        { user_id: user.id, email: user.email },
        now,
      );
    }
    await userIdentities.insertMany(
      tx,
      [
        {
          userId: user.id,
          provider: 'saml',
          providerUserId: key,
          connection: c.id,
          isSocial: false,
          profile: { name_id_format: a.nameIdFormat, email: profile.email },
        },
      ],
      now,
    );
  }
  if (user.status === 'deleted')
    throw new ProvisionRefused('account_deleted', 'The linked account has been deleted');
  const role = await syncMembership(tx, c, user, profile.groups, ctx, now);
  return { user, created, linked, role };
}

/** Adds the member with the mapped role, or moves them to it when a group maps (never touching an owner). */
async function syncMembership(
  tx: Executor,
  c: SsoConnection,
  user: User,
  groups: readonly string[],
  ctx: RequestContext,
  now: Date,
): Promise<string> {
  const { role, mapped } = mappedRole(c, groups);
  const current = await organizations.memberRole(tx, c.organizationId, user.id);
  const data = { organization_id: c.organizationId, user_id: user.id, role, via: 'sso' };
  if (current === undefined) {
    await members.insert(tx, { orgId: c.organizationId, userId: user.id, role, invitedBy: null, now });
    await audit(
      tx,
      ctx,
      { action: 'organization.member.add', targetType: 'user', targetId: user.id, metadata: data },
      now,
    );
    await emit(tx, 'organization.member.added', { type: 'organization', id: c.organizationId }, data, now);
    return role;
  }
  if (!mapped || current === role || current === 'owner') return current;
  await members.setRole(tx, c.organizationId, user.id, role);
  const changed = { ...data, previous_role: current };
  await audit(
    tx,
    ctx,
    { action: 'organization.member.role_change', targetType: 'user', targetId: user.id, metadata: changed },
    now,
  );
  await emit(
    tx,
    'organization.member.role_changed',
    { type: 'organization', id: c.organizationId },
    changed,
    now,
  );
  return role;
}
