/**
 * Invitations by email: a 7-day, single-use random token stored only as its hash. There is no mailer yet, so
 * the plaintext token is handed back once (create, resend) for the inviter to deliver; the invited user
 * accepts it signed in with the invited email address.
 */
import { randomUUID } from 'node:crypto';
import { checkEmail } from '../auth/service.js';
import { hashToken, randomToken } from '../crypto/secrets.js';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { RequestContext } from '../events/events.js';
import { type Actor, requireOrgPermission } from '../rbac/access.js';
import { invitations, members, organizations } from '../store/repos/organizations.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import type { User } from '../users/model.js';
import {
  INVITATION_TTL_MS,
  type Invitation,
  type InvitationStatus,
  invitationStatus,
  type Member,
  type Organization,
} from './model.js';
import { checkAssignable, lockOrganization, type OrgDeps, record } from './service.js';

/** Shown with every freshly issued token until email delivery exists. */
export const NO_MAILER_MESSAGE =
  'No mailer is configured: this is the only time the token is shown. Send it to the invitee, who accepts it ' +
  'signed in with the invited email at POST /api/v1/organizations/invites/accept {"token": "…"}';

export interface IssuedInvitation {
  invitation: Invitation;
  /** The plaintext token: returned once, never stored. */
  token: string;
}

async function invitationOrNotFound(ex: Executor, orgId: string, id: string): Promise<Invitation> {
  const inv = /^[0-9a-f-]{36}$/i.test(id)
    ? await invitations.findById(ex, orgId, id.toLowerCase())
    : undefined;
  if (!inv) throw notFound('Invitation not found');
  return inv;
}

export async function createInvitation(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  input: { email: string; role: string },
  ctx: RequestContext,
): Promise<IssuedInvitation> {
  const access = await requireOrgPermission(deps, actor, orgId, 'invitations:write');
  const id = access.organization.id;
  const email = checkEmail(input.email);
  await checkAssignable(deps.store.db, access, input.role);
  const token = randomToken();
  const now = deps.clock.now();
  const invitation = await deps.store.transaction(async (tx) => {
    await lockOrganization(deps.store, tx, id);
    const existing = await users.findByEmail(tx, email);
    if (existing && (await organizations.memberRole(tx, id, existing.id)))
      throw conflict(`${email} is already a member of this organization`);
    if (await invitations.findOpen(tx, id, email, now))
      throw conflict(`${email} already has a pending invitation: resend or revoke it`);
    const inv = await invitations.insert(
      tx,
      {
        id: randomUUID(),
        organizationId: id,
        email,
        role: input.role,
        invitedBy: actor.id,
        createdAt: now,
        expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
        acceptedAt: null,
        acceptedBy: null,
        revokedAt: null,
      },
      hashToken(token),
    );
    await record(tx, ctx, now, {
      action: 'organization.invitation.create',
      event: 'organization.invitation.created',
      orgId: id,
      target: { type: 'invitation', id: inv.id },
      data: { invitation_id: inv.id, email, role: input.role, expires_at: inv.expiresAt.toISOString() },
    });
    return inv;
  });
  return { invitation, token };
}

export async function listInvitations(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  status?: InvitationStatus,
): Promise<Invitation[]> {
  const { organization } = await requireOrgPermission(deps, actor, orgId, 'invitations:read');
  const all = await invitations.list(deps.store.db, organization.id);
  const now = deps.clock.now();
  return status ? all.filter((i) => invitationStatus(i, now) === status) : all;
}

/** Revokes a pending (or expired) invitation; an accepted or already revoked one → CONFLICT. */
export async function revokeInvitation(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  invitationId: string,
  ctx: RequestContext,
): Promise<Invitation> {
  const { organization } = await requireOrgPermission(deps, actor, orgId, 'invitations:write');
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const inv = await invitationOrNotFound(tx, organization.id, invitationId);
    if (!(await invitations.revoke(tx, inv.id, now)))
      throw conflict(`The invitation is already ${invitationStatus(inv, now)}`);
    await record(tx, ctx, now, {
      action: 'organization.invitation.revoke',
      event: 'organization.invitation.revoked',
      orgId: organization.id,
      target: { type: 'invitation', id: inv.id },
      data: { invitation_id: inv.id, email: inv.email },
    });
    return { ...inv, revokedAt: now };
  });
}

/** A new token and a new 7-day expiry for a pending or expired invitation; the old token stops working. */
export async function resendInvitation(
  deps: OrgDeps,
  actor: Actor,
  orgId: string,
  invitationId: string,
  ctx: RequestContext,
): Promise<IssuedInvitation> {
  const access = await requireOrgPermission(deps, actor, orgId, 'invitations:write');
  const id = access.organization.id;
  const token = randomToken();
  const now = deps.clock.now();
  const invitation = await deps.store.transaction(async (tx) => {
    const inv = await invitationOrNotFound(tx, id, invitationId);
    await checkAssignable(tx, access, inv.role);
    const renewed = await invitations.renew(
      tx,
      inv.id,
      hashToken(token),
      new Date(now.getTime() + INVITATION_TTL_MS),
    );
    if (!renewed) throw conflict(`The invitation is already ${invitationStatus(inv, now)}; create a new one`);
    await record(tx, ctx, now, {
      action: 'organization.invitation.resend',
      event: 'organization.invitation.resent',
      orgId: id,
      target: { type: 'invitation', id: inv.id },
      data: { invitation_id: inv.id, email: inv.email, expires_at: renewed.expiresAt.toISOString() },
    });
    return renewed;
  });
  return { invitation, token };
}

/**
 * Accepts an invitation as the signed-in user, whose email must be the invited one. Unknown token →
 * NOT_FOUND; another user's invitation → AUTHORIZATION_ERROR; expired or revoked → BAD_REQUEST; already
 * accepted, or already a member → CONFLICT. Nothing changes on any of these.
 */
export async function acceptInvitation(
  deps: OrgDeps,
  user: User,
  token: string,
  ctx: RequestContext,
): Promise<{ organization: Organization; member: Member }> {
  if (!token || token.length > 512) throw notFound('Invitation not found');
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const inv = await invitations.findByTokenHash(tx, hashToken(token));
    if (!inv) throw notFound('Invitation not found');
    if (inv.email !== user.email)
      throw forbidden('This invitation was sent to another email address; sign in with that address');
    await lockOrganization(deps.store, tx, inv.organizationId);
    const status = invitationStatus(inv, now);
    if (status === 'accepted') throw conflict('This invitation has already been used');
    if (status === 'revoked') throw badRequest('This invitation has been revoked');
    if (status === 'expired') throw badRequest('This invitation has expired; ask for a new one');
    if (await organizations.memberRole(tx, inv.organizationId, user.id))
      throw conflict('You are already a member of this organization');
    if (!(await invitations.accept(tx, inv.id, user.id, now)))
      throw conflict('This invitation has already been used');
    await members.insert(tx, {
      orgId: inv.organizationId,
      userId: user.id,
      role: inv.role,
      invitedBy: inv.invitedBy,
      now,
    });
    const uctx = { ...ctx, actorId: user.id };
    await record(tx, uctx, now, {
      action: 'organization.invitation.accept',
      event: 'organization.invitation.accepted',
      orgId: inv.organizationId,
      target: { type: 'invitation', id: inv.id },
      data: { invitation_id: inv.id, user_id: user.id, role: inv.role },
    });
    await record(tx, uctx, now, {
      action: 'organization.member.add',
      event: 'organization.member.added',
      orgId: inv.organizationId,
      target: { type: 'user', id: user.id },
      data: { user_id: user.id, role: inv.role, invitation_id: inv.id },
    });
    const organization = (await organizations.findById(tx, inv.organizationId))!;
    return { organization, member: (await members.find(tx, inv.organizationId, user.id))! };
  });
}
