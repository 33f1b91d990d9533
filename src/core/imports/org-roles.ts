/**
 * Which Janua role an imported member gets, and the custom roles that takes (used by ./orgs.ts).
 *
 * Janua gives a member exactly one role per organization; a source (Auth0) gives any number of tenant-wide
 * roles. So:
 * - a source role whose name is a built-in role's name (case-insensitive: `Admin`, `viewer`) is that built-in;
 * - any other source role becomes a custom role of the organization (the first time a member of that
 *   organization holds it) with the role's permissions, under a name Janua accepts (`Billing Admin` →
 *   `billing-admin`; see customRoleNames);
 * - a member with several roles gets the least of the built-ins they hold that covers the union of all their
 *   roles' permissions, else one composite custom role named after the roles (`billing-admin__editor`) that
 *   carries the union; their outcome warns;
 * - a member with no role gets `member`, the role an invitation gives by default.
 */
import { createHash } from 'node:crypto';
import {
  BUILT_IN_ROLES,
  type BuiltInRole,
  coversAll,
  isBuiltInRole,
  PERMISSION_PATTERN,
} from '../rbac/permissions.js';
import { printable } from '../text.js';
import type { ExternalRole } from './types.js';

export const DEFAULT_MEMBER_ROLE: BuiltInRole = 'member';

/** Built-ins from least to most privileged: the first that covers a union is the one given. */
const BUILT_IN_ORDER: BuiltInRole[] = ['viewer', 'member', 'admin', 'owner'];

const NAME_MAX = 50;

export function hashOf(s: string, length = 8): string {
  return createHash('sha256').update(s).digest('hex').slice(0, length);
}

/** A digest of a value whose object keys are sorted, so equal values always give the same digest. */
export function stableHash(value: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canon(value)))
    .digest('hex');
}

/** The built-in role a source role name means, if any. */
export function builtInFor(name: string): BuiltInRole | undefined {
  const n = name.trim().toLowerCase();
  return isBuiltInRole(n) ? n : undefined;
}

/** `name` cut to leave room for `-<8 hex>`, then the suffix: unique per key, still within 50 characters. */
export function withSuffix(name: string, key: string): string {
  return `${name.slice(0, NAME_MAX - 9).replace(/[-_]+$/, '')}-${hashOf(key)}`;
}

/**
 * ROLE_NAME_PATTERN's form of a source role name: lower-case letters, digits, `_` and `-`, starting with a
 * letter, 2–50 characters. Runs of other characters become one `-`, runs of `_` one `_` (so `__` is free to
 * join the parts of a composite name).
 */
function baseName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '-')
    .replace(/_+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, NAME_MAX)
    .replace(/[-_]+$/, '');
}

/**
 * Janua names of the custom (non built-in) roles among `roles`, decided over the whole set so that the result
 * does not depend on which member is read first: roles whose names fold to the same form (`Editor`, `editor`)
 * are told apart by a hash of the role id on all but the one with the smallest id; a form that is too short or
 * is a built-in name gets the hash too.
 */
export function customRoleNames(roles: Iterable<ExternalRole>): Map<string, string> {
  const groups = new Map<string, string[]>();
  for (const r of roles) {
    if (builtInFor(r.name)) continue;
    const base = baseName(r.name);
    groups.set(base, [...(groups.get(base) ?? []), r.externalId]);
  }
  const out = new Map<string, string>();
  for (const [base, ids] of groups) {
    ids.sort();
    ids.forEach((id, i) => {
      const usable = base.length >= 2 && !isBuiltInRole(base);
      out.set(id, usable && i === 0 ? base : withSuffix(usable ? base : 'role', id));
    });
  }
  return out;
}

/** What a member's roles come to in Janua. */
export type RolePlan =
  | { kind: 'built-in'; name: BuiltInRole }
  /** One source role, or a composite of several (`ids` sorted): a custom role of the organization. */
  | { kind: 'custom'; ids: string[] };

export interface MemberRolePlan {
  plan: RolePlan;
  warnings: string[];
}

/**
 * The permissions a source role carries in Janua: a built-in's own, else the mapped ones that Janua accepts —
 * never a wildcard, which only Janua's own built-in roles may hold (the mapping drops them; this holds even
 * for a caller that did not map).
 */
export function permissionsOf(role: ExternalRole): readonly string[] {
  const b = builtInFor(role.name);
  return b
    ? BUILT_IN_ROLES[b]
    : role.permissions.filter((p) => PERMISSION_PATTERN.test(p) && !p.includes('*'));
}

export function planMemberRole(
  roleIds: readonly string[],
  roles: ReadonlyMap<string, ExternalRole>,
): MemberRolePlan {
  const warnings: string[] = [];
  const held: ExternalRole[] = [];
  for (const id of new Set(roleIds)) {
    const r = roles.get(id);
    if (r) held.push(r);
    else warnings.push(`role ${printable(id)} is not among the roles read from the source: ignored`);
  }
  if (held.length === 0) return { plan: { kind: 'built-in', name: DEFAULT_MEMBER_ROLE }, warnings };
  if (held.length === 1) {
    const b = builtInFor(held[0]!.name);
    return {
      plan: b ? { kind: 'built-in', name: b } : { kind: 'custom', ids: [held[0]!.externalId] },
      warnings,
    };
  }
  const names = held.map((r) => printable(r.name)).sort();
  const union = [...new Set(held.flatMap((r) => permissionsOf(r)))];
  const builtIns = new Set(held.map((r) => builtInFor(r.name)).filter((b) => b !== undefined));
  const covering = BUILT_IN_ORDER.find((b) => builtIns.has(b) && coversAll(BUILT_IN_ROLES[b], union));
  if (covering) {
    warnings.push(
      `holds ${held.length} roles (${names.join(', ')}): Janua gives one; "${covering}" covers them all`,
    );
    return { plan: { kind: 'built-in', name: covering }, warnings };
  }
  const ids = held.map((r) => r.externalId).sort();
  warnings.push(
    `holds ${held.length} roles (${names.join(', ')}): Janua gives one; a custom role carries all their permissions`,
  );
  return { plan: { kind: 'custom', ids }, warnings };
}

/** What a custom role of the plan should be in the organization: its name, permissions and description. */
export interface CustomRoleSpec {
  /** The import record's external id: `<orgExternalId>:<roleId>` or, for a composite, `…:<id>+<id>…`. */
  key: string;
  name: string;
  description: string | null;
  permissions: string[];
}

export function customRoleSpec(
  orgExternalId: string,
  ids: readonly string[],
  roles: ReadonlyMap<string, ExternalRole>,
  names: ReadonlyMap<string, string>,
): CustomRoleSpec {
  const key = `${orgExternalId}:${ids.join('+')}`;
  const held = ids.map((id) => roles.get(id)!);
  if (held.length === 1) {
    const r = held[0]!;
    return {
      key,
      name: names.get(r.externalId)!,
      description: r.description,
      permissions: [...new Set(permissionsOf(r))].sort(),
    };
  }
  const parts = held.map((r) => builtInFor(r.name) ?? names.get(r.externalId)!).sort();
  const joined = parts.join('__');
  return {
    key,
    name: joined.length <= NAME_MAX ? joined : withSuffix(joined, key),
    description: `Imported: the union of the roles ${held
      .map((r) => r.name)
      .sort()
      .join(', ')}`.slice(0, 2000),
    permissions: [...new Set(held.flatMap((r) => permissionsOf(r)))].sort(),
  };
}
