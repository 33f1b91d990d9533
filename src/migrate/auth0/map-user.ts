/**
 * Auth0 users (a users export or the Management API) and password-hash export lines, validated and mapped to
 * the core's import records (src/core/imports/types.ts). A record that cannot be imported gives `{ error }`
 * naming what is wrong — never echoing a hash or a whole value; what is imported without some part of it
 * (an unreadable date, an MFA enrolment, a hash of an unknown format) gives a warning for the report.
 */
import { checkEmail } from '../../core/auth/service.js';
import type { ExternalIdentity, ExternalPasswordHash, ExternalUser } from '../../core/imports/types.js';
import { breaksTextRule, nulPath, TEXT_RULES } from '../../core/text.js';

/** Limits on what one user may carry (Auth0's own limits, rounded up): larger is a broken record. */
const MAX = {
  userId: 512,
  name: 300,
  username: 128,
  picture: 2048,
  phone: 64,
  identities: 50,
  metadataBytes: 64 * 1024,
  metadataDepth: 32,
};

/** Auth0 stores bcrypt (`$2a$`/`$2b$`, cost 10): the only hashes we verify as they are. */
const BCRYPT = /^\$2[ab]\$\d{2}\$[./A-Za-z0-9]{53}$/;

class Invalid extends Error {}

type Rec = Record<string, unknown>;

function isObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(r: Rec, key: string, max: number, field = key): string | null {
  const v = r[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new Invalid(`${field} must be a string`);
  if (v.length > max) throw new Invalid(`${field} is longer than ${max} characters`);
  if (breaksTextRule(v, 'single-line')) throw new Invalid(`${field} ${TEXT_RULES['single-line']}`);
  return v === '' ? null : v;
}

function bool(r: Rec, key: string, field = key): boolean {
  const v = r[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new Invalid(`${field} must be true or false`);
  return v;
}

function depthOf(v: unknown, limit: number): number {
  // Iterative: a hostile record nested 100,000 deep must not exhaust the stack.
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (typeof x === 'object' && x !== null) for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return max;
}

function metadata(r: Rec, key: string): Record<string, unknown> {
  const v = r[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new Invalid(`${key} must be an object`);
  const nul = nulPath(v);
  if (nul !== undefined) throw new Invalid(`${key}${nul ? `.${nul}` : ''} ${TEXT_RULES.nul}`);
  if (depthOf(v, MAX.metadataDepth) > MAX.metadataDepth)
    throw new Invalid(`${key} is nested deeper than ${MAX.metadataDepth} levels`);
  if (Buffer.byteLength(JSON.stringify(v)) > MAX.metadataBytes)
    throw new Invalid(`${key} is larger than ${MAX.metadataBytes / 1024} KiB`);
  return v;
}

/** An ISO 8601 date; anything else is a warning and null (the user is imported without it). */
function date(r: Rec, key: string, warnings: string[]): Date | null {
  const v = r[key];
  if (v === undefined || v === null || v === '') return null;
  const d =
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)
      ? new Date(v)
      : null;
  if (!d || Number.isNaN(d.getTime())) {
    warnings.push(`${key} is not an ISO 8601 date: not carried`);
    return null;
  }
  return d;
}

function identities(r: Rec, userId: string): ExternalIdentity[] {
  const v = r['identities'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Invalid('identities must be an array');
  if (v.length > MAX.identities) throw new Invalid(`more than ${MAX.identities} identities`);
  const out: ExternalIdentity[] = [];
  for (const [i, x] of v.entries()) {
    const at = `identities[${i}]`;
    if (!isObject(x)) throw new Invalid(`${at} must be an object`);
    const provider = str(x, 'provider', 100, `${at}.provider`);
    if (!provider) throw new Invalid(`${at}.provider is required`);
    const raw = x['user_id'];
    if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isSafeInteger(raw)))
      throw new Invalid(`${at}.user_id must be a string or an integer`);
    const providerUserId = str({ id: String(raw) }, 'id', MAX.userId, `${at}.user_id`);
    if (!providerUserId) throw new Invalid(`${at}.user_id is required`);
    // The database account the record itself is (`auth0|<id>`) is the user, not a linked account.
    if (provider === 'auth0' && `auth0|${providerUserId}` === userId) continue;
    const profile = x['profileData'] === undefined ? undefined : metadata(x, 'profileData');
    out.push({
      provider,
      providerUserId,
      connection: str(x, 'connection', 200, `${at}.connection`),
      isSocial: bool(x, 'isSocial', `${at}.isSocial`),
      ...(profile && Object.keys(profile).length ? { profile } : {}),
    });
  }
  return out;
}

function picture(r: Rec, warnings: string[]): string | null {
  const v = str(r, 'picture', MAX.picture);
  if (v === null) return null;
  try {
    const u = new URL(v);
    if (u.protocol === 'https:' || u.protocol === 'http:') return v;
  } catch {
    // not a URL: falls through to the warning
  }
  warnings.push('picture is not an http(s) URL: not carried');
  return null;
}

function passwordHash(r: Rec, warnings: string[]): string | null {
  const key = r['password_hash'] !== undefined ? 'password_hash' : 'passwordHash';
  const v = r[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string' && BCRYPT.test(v)) return v;
  warnings.push(`${key} not carried: unknown hash format (only bcrypt $2a$/$2b$ is imported)`);
  return null;
}

function mapUser(v: unknown, index: number): ExternalUser {
  if (!isObject(v)) throw new Invalid('a user must be a JSON object');
  const userId = str(v, 'user_id', MAX.userId);
  if (!userId) throw new Invalid('user_id is required');
  if (typeof v['email'] !== 'string' || v['email'].trim() === '') throw new Invalid('email is required');
  let email: string;
  try {
    email = checkEmail(v['email']);
  } catch {
    throw new Invalid('email is not a valid address');
  }
  const warnings: string[] = [];
  const mfa = v['multifactor'];
  if (mfa !== undefined && mfa !== null) {
    if (!Array.isArray(mfa) || !mfa.every((m) => typeof m === 'string'))
      throw new Invalid('multifactor must be an array of strings');
    const names = mfa.filter((m) => !breaksTextRule(m, 'single-line') && m.length <= 100);
    if (mfa.length)
      warnings.push(`MFA enrolment (${names.join(', ') || 'unnamed'}) not carried: Auth0 does not export it`);
  }
  const user: ExternalUser = {
    index,
    externalId: userId,
    email,
    emailVerified: bool(v, 'email_verified'),
    username: str(v, 'username', MAX.username),
    firstName: str(v, 'given_name', MAX.name),
    lastName: str(v, 'family_name', MAX.name),
    displayName: str(v, 'name', MAX.name),
    nickname: str(v, 'nickname', MAX.name),
    pictureUrl: picture(v, warnings),
    phoneNumber: str(v, 'phone_number', MAX.phone),
    phoneVerified: bool(v, 'phone_verified'),
    createdAt: date(v, 'created_at', warnings),
    lastSignInAt: date(v, 'last_login', warnings),
    suspended: bool(v, 'blocked'),
    userMetadata: metadata(v, 'user_metadata'),
    appMetadata: metadata(v, 'app_metadata'),
    identities: identities(v, userId),
    passwordHash: passwordHash(v, warnings),
    warnings,
  };
  return user;
}

/** Validates and maps one Auth0 user (`index`: its 1-based position in the source). */
export function mapAuth0User(value: unknown, index: number): { user: ExternalUser } | { error: string } {
  try {
    return { user: mapUser(value, index) };
  } catch (err) {
    if (err instanceof Invalid) return { error: err.message };
    throw err;
  }
}

/**
 * Validates and maps one line of Auth0's password-hash export: `_id.$oid` → external id `auth0|<oid>`,
 * `email`, `passwordHash` (bcrypt `$2a$`/`$2b$` only). The hash is never echoed in an error.
 */
export function mapAuth0PasswordHash(
  value: unknown,
  index: number,
): { hash: ExternalPasswordHash } | { error: string } {
  if (!isObject(value)) return { error: 'a line must be a JSON object' };
  const id = value['_id'];
  let externalId: string | null = null;
  if (id !== undefined && id !== null) {
    const oid = isObject(id) ? id['$oid'] : id;
    if (typeof oid !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(oid))
      return { error: '_id.$oid must be an object id (letters and digits)' };
    externalId = `auth0|${oid}`;
  }
  let email: string | null = null;
  const rawEmail = value['email'];
  if (rawEmail !== undefined && rawEmail !== null) {
    if (typeof rawEmail !== 'string') return { error: 'email must be a string' };
    try {
      email = checkEmail(rawEmail);
    } catch {
      if (!externalId) return { error: 'email is not a valid address' };
    }
  }
  if (!externalId && !email) return { error: 'neither _id.$oid nor email: the line names no user' };
  const hash = value['passwordHash'];
  if (hash === undefined || hash === null || hash === '') return { error: 'passwordHash is missing' };
  if (typeof hash !== 'string' || !BCRYPT.test(hash))
    return { error: 'unknown hash format (only bcrypt $2a$/$2b$ is imported)' };
  return { hash: { index, externalId, email, hash } };
}
