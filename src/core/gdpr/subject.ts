/**
 * The data subject of an export or an erasure: the user, the strings that identify them (to find and remove
 * them in free text: payloads, metadata, mail) and the pseudonym that replaces their id where a record must
 * stay (the audit trail, consent history, requests).
 *
 * The pseudonym is a keyed hash of the user id under a pepper sealed with the master key (GDPR Art. 4(5):
 * data that can no longer be attributed to the person without additional information kept separately). It is
 * deterministic, so every row of one erased user keeps pointing at the same pseudonym and the trail stays
 * whole, and UUID-shaped, so it fits every id column on both databases.
 */
import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import type { Deps } from '../deps.js';
import type { Executor } from '../store/store.js';
import { normalizeEmail } from '../users/model.js';

export const PSEUDONYM_PEPPER = 'gdpr-pseudonym';

export interface DataSubject {
  userId: string;
  /** Normalized (lower-case) email. */
  email: string;
  /** Name, username, phone: removed from free text wherever the user's rows carry them. */
  identifiers: string[];
  /** IP addresses the user's own rows recorded (sessions, their audit events, MFA challenges, consents). */
  ips: string[];
  pseudonym: string;
}

/** The user id's pseudonym, a version-8 UUID (RFC 9562 §5.8) made of an HMAC-SHA256 under a sealed pepper. */
export async function pseudonymOf(deps: Pick<Deps, 'peppers'>, userId: string): Promise<string> {
  const pepper = await deps.peppers.get(PSEUDONYM_PEPPER);
  const b = createHmac('sha256', pepper).update(userId, 'utf8').digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The subject for `userId`, or undefined when no such user exists (already erased, or never did). */
export async function loadSubject(
  ex: Executor,
  deps: Pick<Deps, 'peppers'>,
  userId: string,
): Promise<DataSubject | undefined> {
  const u = await ex
    .selectFrom('users')
    .select([
      'id',
      'email',
      'first_name',
      'last_name',
      'display_name',
      'username',
      'nickname',
      'phone_number',
    ])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!u) return undefined;
  const identifiers = [u.first_name, u.last_name, u.display_name, u.username, u.nickname, u.phone_number]
    .filter((v): v is string => typeof v === 'string' && v.trim().length >= 2)
    .map((v) => v.trim());
  const full = [u.first_name, u.last_name].filter(Boolean).join(' ');
  if (u.first_name && u.last_name) identifiers.push(full);
  const ips = await ex
    .selectFrom('sessions')
    .select('ip')
    .where('user_id', '=', userId)
    .union(ex.selectFrom('audit_events').select('ip').where('actor_id', '=', userId))
    .union(
      ex
        .selectFrom('audit_events')
        .select('ip')
        .where('target_id', '=', userId)
        .where((eb) => eb.or([eb('actor_id', 'is', null), eb('actor_id', '=', userId)])),
    )
    .union(ex.selectFrom('mfa_challenges').select('ip').where('user_id', '=', userId))
    .union(ex.selectFrom('consent_records').select('ip').where('user_id', '=', userId))
    .execute();
  return {
    userId: u.id,
    email: normalizeEmail(u.email),
    identifiers: [...new Set(identifiers)],
    ips: [...new Set(ips.map((r) => r.ip).filter((v): v is string => !!v))],
    pseudonym: await pseudonymOf(deps, u.id),
  };
}

/** Every string that must not survive erasure in free text about the subject (longest first). */
export function needles(s: DataSubject): string[] {
  return [s.email, s.userId, ...s.identifiers, ...s.ips].sort((a, b) => b.length - a.length);
}

export const ERASED = '[erased]';

const escapeRegExp = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A matcher for the needles as whole tokens (not inside a longer word or number: the name "Ann" is not
 * removed from "Annual", the IP 10.0.0.1 not from 10.0.0.12), case-insensitive.
 */
export function matcher(words: readonly string[]): RegExp | undefined {
  const list = words.filter((w) => w.length > 0);
  if (!list.length) return undefined;
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${list.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
}

/** `text` with every needle replaced by `[erased]`. */
export function scrubText(text: string, re: RegExp | undefined): string {
  return re ? text.replace(re, ERASED) : text;
}

/** A JSON value with every string (and object key) scrubbed; structure and other values are kept. */
export function scrubJson(value: unknown, re: RegExp | undefined): unknown {
  if (!re) return value;
  if (typeof value === 'string') return scrubText(value, re);
  if (Array.isArray(value)) return value.map((v) => scrubJson(v, re));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[scrubText(k, re)] = scrubJson(v, re);
    return out;
  }
  return value;
}

/** A SQL condition "the text of `column` contains `needle`" (Postgres jsonb is compared as its text form). */
export function textContains(column: string, needle: string) {
  const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<boolean>`lower(cast(${sql.ref(column)} as text)) like ${pattern.toLowerCase()} escape '\\'`;
}
