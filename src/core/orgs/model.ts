export interface Organization {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  logoUrl: string | null;
  metadata: Record<string, unknown>;
  /** Members must have a second factor to sign in (docs/mfa.md). */
  requireMfa: boolean;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The organization object of the API (UUID id, ISO timestamps). */
export interface PublicOrganization {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  logo_url: string | null;
  metadata: Record<string, unknown>;
  require_mfa: boolean;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export function presentOrganization(o: Organization): PublicOrganization {
  return {
    id: o.id,
    name: o.name,
    slug: o.slug,
    description: o.description,
    logo_url: o.logoUrl,
    metadata: o.metadata,
    require_mfa: o.requireMfa,
    created_by: o.createdBy,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  };
}

/** Slugs: lower-case letters, digits and single hyphens, 2–63 characters (a DNS label). */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,62}$/;

/** A membership, with the user's public name fields. */
export interface Member {
  organizationId: string;
  userId: string;
  role: string;
  joinedAt: Date;
  invitedBy: string | null;
  email: string;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  status: string;
}

export interface PublicMember {
  organization_id: string;
  user_id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  name: string | null;
  display_name: string | null;
  status: string;
  role: string;
  joined_at: string;
  invited_by: string | null;
}

export function presentMember(m: Member): PublicMember {
  return {
    organization_id: m.organizationId,
    user_id: m.userId,
    email: m.email,
    first_name: m.firstName,
    last_name: m.lastName,
    name: [m.firstName, m.lastName].filter(Boolean).join(' ') || null,
    display_name: m.displayName,
    status: m.status,
    role: m.role,
    joined_at: m.joinedAt.toISOString(),
    invited_by: m.invitedBy,
  };
}

/** A custom role of one organization. */
export interface OrgRole {
  id: string;
  organizationId: string;
  name: string;
  description: string | null;
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** Roles in the API: built-in ones have no id, no organization and `built_in: true`. */
export interface PublicRole {
  id: string | null;
  organization_id: string | null;
  name: string;
  description: string | null;
  permissions: string[];
  built_in: boolean;
  created_at: string | null;
  updated_at: string | null;
}

export function presentRole(r: OrgRole): PublicRole {
  return {
    id: r.id,
    organization_id: r.organizationId,
    name: r.name,
    description: r.description,
    permissions: r.permissions,
    built_in: false,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

export interface Invitation {
  id: string;
  organizationId: string;
  email: string;
  role: string;
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  acceptedBy: string | null;
  revokedAt: Date | null;
}

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export function invitationStatus(i: Invitation, now: Date): InvitationStatus {
  if (i.acceptedAt) return 'accepted';
  if (i.revokedAt) return 'revoked';
  return i.expiresAt <= now ? 'expired' : 'pending';
}

export interface PublicInvitation {
  id: string;
  organization_id: string;
  email: string;
  role: string;
  status: InvitationStatus;
  invited_by: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
  revoked_at: string | null;
}

export function presentInvitation(i: Invitation, now: Date): PublicInvitation {
  return {
    id: i.id,
    organization_id: i.organizationId,
    email: i.email,
    role: i.role,
    status: invitationStatus(i, now),
    invited_by: i.invitedBy,
    created_at: i.createdAt.toISOString(),
    expires_at: i.expiresAt.toISOString(),
    accepted_at: i.acceptedAt?.toISOString() ?? null,
    accepted_by: i.acceptedBy,
    revoked_at: i.revokedAt?.toISOString() ?? null,
  };
}

/** Custom role names: lower-case letters, digits, `_` and `-`, 2–50 characters, starting with a letter. */
export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{1,49}$/;

/** Invitations are valid for 7 days (API.md contract notes). */
export const INVITATION_TTL_MS = 7 * 86_400_000;
