/**
 * Permissions are `resource:action` strings; a grant may use wildcards: `*` (everything), `resource:*`
 * (every action on one resource) or `*:action` (one action on every resource).
 *
 * Built-in organization roles and what they may do (README "Roles and permissions"):
 * - owner: everything, including deleting the organization and managing owners (`owners:manage`);
 * - admin: manage the organization's settings, members, invitations, custom roles and webhook endpoints, but
 *   not owners;
 * - member: read the organization, its members and roles;
 * - viewer: read the organization and its members.
 */
export const BUILT_IN_ROLES = {
  owner: ['*'],
  admin: [
    'organization:read',
    'organization:update',
    'members:*',
    'invitations:*',
    'roles:*',
    'users:read',
    'users:write',
    'audit:read',
    'webhooks:*',
    'sso:*',
  ],
  member: ['organization:read', 'members:read', 'roles:read', 'users:read'],
  viewer: ['organization:read', 'members:read'],
} as const satisfies Record<string, readonly string[]>;

export type BuiltInRole = keyof typeof BUILT_IN_ROLES;
export const BUILT_IN_ROLE_NAMES = Object.keys(BUILT_IN_ROLES) as BuiltInRole[];

export function isBuiltInRole(name: string): name is BuiltInRole {
  return Object.hasOwn(BUILT_IN_ROLES, name);
}

/** Every permission the API checks, for documentation, validation of custom roles and the matrix test. */
export const KNOWN_PERMISSIONS = [
  'organization:read',
  'organization:update',
  'organization:delete',
  'members:read',
  'members:write',
  'members:delete',
  'invitations:read',
  'invitations:write',
  'roles:read',
  'roles:write',
  'users:read',
  'users:write',
  'audit:read',
  'owners:manage',
  'webhooks:read',
  'webhooks:write',
  'sso:read',
  'sso:write',
] as const;

export const PERMISSION_PATTERN = /^(\*|(\*|[a-z][a-z_]*):(\*|[a-z][a-z_]*))$/;

/** Whether one grant covers one required permission. */
function covers(grant: string, required: string): boolean {
  if (grant === '*' || grant === required) return true;
  const [gr, ga] = grant.split(':');
  const [rr, ra] = required.split(':');
  return (gr === '*' || gr === rr) && (ga === '*' || ga === ra);
}

export function hasPermission(grants: readonly string[], required: string): boolean {
  return grants.some((g) => covers(g, required));
}

/** Whether `holder` holds everything `granted` would give (no one may hand out more than they have). */
export function coversAll(holder: readonly string[], granted: readonly string[]): boolean {
  return granted.every((g) => {
    if (g === '*') return holder.includes('*');
    const [r, a] = g.split(':');
    if (r === '*' || a === '*') {
      // A wildcard grant is only as wide as the holder's: require a holder grant at least as wide.
      return holder.some(
        (h) => h === '*' || (h.split(':')[0] === r && h.split(':')[1] === '*' && a === '*') || h === g,
      );
    }
    return hasPermission(holder, g);
  });
}
