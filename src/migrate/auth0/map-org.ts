/**
 * Auth0 organizations, roles and organization members → the records the core imports (src/core/imports/orgs.ts).
 * Pure functions: validate and map, never write. A record that cannot be carried is an `{ error }` with a reason
 * for the report; what is carried only in part comes back as `warnings`.
 *
 * Permissions. Auth0 names them freely per API (`read:reports`, `create:users`, `admin`, `Read:V2`); Janua's
 * custom roles accept `resource:action` with lower-case letters and `_` on each side (PERMISSION_PATTERN) and give
 * `*` a wildcard meaning. An Auth0 permission is carried
 *   1. as it is when Janua accepts it (so `read:reports` stays `read:reports` and an application keeps checking
 *      the same string);
 *   2. else lower-cased with `-`, `.`, `/` and spaces turned into `_`, when that gives a name Janua accepts
 *      (`Read:Monthly-Reports` → `read:monthly_reports`; a warning names the rename);
 *   3. else not at all (digits, more than one `:`, no `:` at all), with a warning.
 * Never carried, whatever their shape: names containing `*` (in Auth0 a literal character; in Janua a wildcard,
 * which would grant far more than the source did) and names in the namespaces of Janua's own organization
 * permissions (`members:write`, `roles:*` …: they would hand out administration of the Janua organization).
 * Auth0 scopes permissions by API (resource server); Janua has one namespace, so the same name on two APIs
 * becomes one permission (a warning says so).
 */
import { createHash } from 'node:crypto';
import type { ExternalMember, ExternalOrganization, ExternalRole } from '../../core/imports/types.js';
import { SLUG_PATTERN } from '../../core/orgs/model.js';
import { KNOWN_PERMISSIONS, PERMISSION_PATTERN } from '../../core/rbac/permissions.js';
import { breaksTextRule, nulPath, TEXT_RULES } from '../../core/text.js';

export type Mapped<K extends string, T> = ({ [P in K]: T } & { warnings: string[] }) | { error: string };

/** Janua's organization name limit (core checkName). */
const NAME_MAX = 200;
/** Janua's logo_url limit (the API schema). */
const URL_MAX = 2048;
/** Janua's permission-name limit (the API schema). */
const PERMISSION_MAX = 100;
const ID_MAX = 255;

/** Resources of Janua's own organization permissions: an imported role may not grant them. */
const RESERVED_RESOURCES = new Set(KNOWN_PERMISSIONS.map((p) => p.split(':')[0]!));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A required single-line string field, or the reason it is not one. */
function requiredText(r: Record<string, unknown>, key: string, max: number): string | { error: string } {
  const v = r[key];
  if (typeof v !== 'string' || v.trim() === '') return { error: `${key} is required` };
  if (breaksTextRule(v, 'single-line')) return { error: `${key} ${TEXT_RULES['single-line']}` };
  if (v.length > max) return { error: `${key} is longer than ${max} characters` };
  return v;
}

/** `café_Team` → `cafe-team`: letters and digits of the name, every other run one hyphen. */
function sluggish(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export function shortHash(s: string, length = 8): string {
  return createHash('sha256').update(s).digest('hex').slice(0, length);
}

/**
 * The slug Janua's rules allow (SLUG_PATTERN: 2–63 lower-case letters, digits, single hyphens) from an Auth0
 * organization `name` (1–50 lower-case letters, digits, `-` and `_`): `_` and other characters become hyphens,
 * runs collapse; a one-character result gets `-org`; nothing usable → `org-<hash of the id>`.
 */
export function slugFromAuth0Name(name: string, externalId: string): string {
  let s = sluggish(name).slice(0, 63).replace(/-+$/, '');
  if (s.length === 1) s = `${s}-org`;
  if (!SLUG_PATTERN.test(s)) s = `org-${shortHash(externalId)}`;
  return s;
}

function httpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** One organization of `GET /api/v2/organizations`; `index` is its 1-based position for the report. */
export function mapAuth0Organization(value: unknown, index: number): Mapped<'org', ExternalOrganization> {
  if (!isObject(value)) return { error: 'an organization must be a JSON object' };
  const id = requiredText(value, 'id', ID_MAX);
  if (typeof id !== 'string') return id;
  const name = requiredText(value, 'name', ID_MAX);
  if (typeof name !== 'string') return name;
  const warnings: string[] = [];
  let display = name;
  if (value['display_name'] !== undefined && value['display_name'] !== null) {
    const d = requiredText(value, 'display_name', 1000);
    if (typeof d !== 'string') return d;
    display = d;
  }
  display = display.trim();
  if (display.length > NAME_MAX) {
    warnings.push(`display_name cut to ${NAME_MAX} characters`);
    display = display.slice(0, NAME_MAX).trimEnd();
  }
  const metadata = value['metadata'] ?? {};
  if (!isObject(metadata)) return { error: 'metadata must be an object' };
  const nul = nulPath(metadata);
  if (nul !== undefined) return { error: `metadata${nul ? `.${nul}` : ''} ${TEXT_RULES.nul}` };
  let logoUrl: string | null = null;
  const branding = value['branding'];
  if (isObject(branding)) {
    const logo = branding['logo_url'];
    if (typeof logo === 'string' && logo !== '') {
      if (logo.length <= URL_MAX && !breaksTextRule(logo, 'single-line') && httpUrl(logo)) logoUrl = logo;
      else warnings.push('branding.logo_url is not an http(s) URL of at most 2048 characters: not carried');
    }
    if (isObject(branding['colors']) && Object.keys(branding['colors']).length)
      warnings.push('branding.colors: Janua organizations have no colours; not carried');
  }
  const slug = slugFromAuth0Name(name, id);
  return {
    org: { index, externalId: id, name: display, slug, logoUrl, metadata: { ...metadata } },
    warnings,
  };
}

/** Janua's name for one Auth0 permission, or why it is not carried (see the module comment). */
export function mapPermission(name: string): { permission: string } | { skipped: string } {
  if (name.includes('*'))
    return { skipped: `"${name}" contains "*", which Janua reads as a wildcard: not carried` };
  let p = name;
  if (!PERMISSION_PATTERN.test(p)) p = name.toLowerCase().replace(/[-./ ]/g, '_');
  if (!PERMISSION_PATTERN.test(p) || p.length > PERMISSION_MAX)
    return {
      skipped: `"${name}" cannot be expressed as a Janua permission (resource:action, lower-case letters and "_"): not carried`,
    };
  if (RESERVED_RESOURCES.has(p.split(':')[0]!))
    return {
      skipped: `"${name}" is in the namespace of Janua's own organization permissions: not carried (assign a Janua role instead)`,
    };
  return { permission: p };
}

/** One role of `GET /api/v2/roles` with its permissions (`GET /api/v2/roles/{id}/permissions`). */
export function mapAuth0Role(value: unknown): Mapped<'role', ExternalRole> {
  if (!isObject(value)) return { error: 'a role must be a JSON object' };
  const id = requiredText(value, 'id', ID_MAX);
  if (typeof id !== 'string') return id;
  const name = requiredText(value, 'name', ID_MAX);
  if (typeof name !== 'string') return name;
  const warnings: string[] = [];
  let description: string | null = null;
  const d = value['description'];
  if (typeof d === 'string' && d.trim() !== '') {
    if (breaksTextRule(d, 'multi-line') || d.length > 2000)
      warnings.push('description has control characters or is longer than 2000 characters: not carried');
    else description = d;
  }
  const raw = value['permissions'] ?? [];
  if (!Array.isArray(raw)) return { error: 'permissions must be an array' };
  const byName = new Map<string, string>(); // Janua permission → the first Auth0 name mapped to it
  const apis = new Map<string, Set<string>>();
  for (const item of raw) {
    const pname = isObject(item) ? item['permission_name'] : undefined;
    if (typeof pname !== 'string' || pname === '' || breaksTextRule(pname, 'single-line')) {
      warnings.push('a permission without a usable permission_name: not carried');
      continue;
    }
    const m = mapPermission(pname);
    if ('skipped' in m) {
      warnings.push(m.skipped);
      continue;
    }
    const api = isObject(item) ? item['resource_server_identifier'] : undefined;
    if (typeof api === 'string') apis.set(m.permission, (apis.get(m.permission) ?? new Set()).add(api));
    const first = byName.get(m.permission);
    if (first === undefined) {
      byName.set(m.permission, pname);
      if (m.permission !== pname) warnings.push(`"${pname}" carried as "${m.permission}"`);
    } else if (first !== pname) {
      warnings.push(`"${pname}" and "${first}" both become "${m.permission}"`);
    }
  }
  for (const [p, set] of apis)
    if (set.size > 1)
      warnings.push(`"${p}" is defined on ${set.size} APIs; Janua has one permission of that name`);
  const permissions = [...byName.keys()].sort();
  return { role: { externalId: id, name: name.trim(), description, permissions }, warnings };
}

/** One member of `GET /api/v2/organizations/{id}/members` (with `fields=roles`). */
export function mapAuth0Member(value: unknown, index: number): Mapped<'member', ExternalMember> {
  if (!isObject(value)) return { error: 'a member must be a JSON object' };
  const userId = requiredText(value, 'user_id', ID_MAX);
  if (typeof userId !== 'string') return userId;
  const warnings: string[] = [];
  const roles = value['roles'] ?? [];
  if (!Array.isArray(roles)) return { error: 'roles must be an array' };
  const ids: string[] = [];
  for (const r of roles) {
    const rid = isObject(r) ? r['id'] : undefined;
    if (typeof rid !== 'string' || rid === '' || breaksTextRule(rid, 'single-line') || rid.length > ID_MAX) {
      warnings.push('a role without a usable id: not carried');
      continue;
    }
    if (!ids.includes(rid)) ids.push(rid);
  }
  return { member: { index, userExternalId: userId, roleExternalIds: ids }, warnings };
}
