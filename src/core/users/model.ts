export type UserStatus = 'active' | 'suspended' | 'deleted';

export interface User {
  id: string;
  email: string;
  emailVerified: boolean;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  profileImageUrl: string | null;
  phoneNumber: string | null;
  phoneVerified: boolean;
  timezone: string | null;
  locale: string | null;
  status: UserStatus;
  isAdmin: boolean;
  mfaEnabled: boolean;
  userMetadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  lastSignInAt: Date | null;
}

/** The user object of the API (and of `--json` CLI output): the fields API.md's client section names. */
export interface PublicUser {
  id: string;
  email: string;
  email_verified: boolean;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  name: string | null;
  display_name: string | null;
  profile_image_url: string | null;
  phone_number: string | null;
  phone_verified: boolean;
  timezone: string | null;
  locale: string | null;
  status: UserStatus;
  mfa_enabled: boolean;
  is_admin: boolean;
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
  user_metadata: Record<string, unknown>;
}

export function presentUser(u: User): PublicUser {
  const name = [u.firstName, u.lastName].filter(Boolean).join(' ') || null;
  return {
    id: u.id,
    email: u.email,
    email_verified: u.emailVerified,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    name,
    display_name: u.displayName,
    profile_image_url: u.profileImageUrl,
    phone_number: u.phoneNumber,
    phone_verified: u.phoneVerified,
    timezone: u.timezone,
    locale: u.locale,
    status: u.status,
    mfa_enabled: u.mfaEnabled,
    is_admin: u.isAdmin,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
    last_sign_in_at: u.lastSignInAt?.toISOString() ?? null,
    user_metadata: u.userMetadata,
  };
}

/** Emails are compared and stored trimmed and lower-cased (RFC 5321 lets the local part be case-sensitive; no real provider is). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
