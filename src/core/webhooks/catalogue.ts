/**
 * The events an endpoint may subscribe to (`GET /api/v1/webhooks/events`): every domain event of the outbox,
 * plus the two webhooks make themselves. Subscriptions name events exactly, by a `prefix.*` pattern, or `*`;
 * the original SDK's names (API.md, "Client compatibility") are accepted and stored as ours.
 */

import { validation } from '../errors.js';
import type { DomainEventType } from '../events/events.js';

/** One line per domain event; `Record<DomainEventType, …>` keeps it complete when an event is added. */
const DOMAIN_EVENTS: Record<DomainEventType, string> = {
  'user.created': 'A user signed up or was created by an administrator or an import',
  'user.updated': 'A user changed their profile, or an administrator changed it',
  'user.deleted': 'A user was deactivated or deleted',
  'user.verified': 'A user verified their email address',
  'user.suspended': 'A user was suspended (sign-in refused, sessions revoked)',
  'user.reactivated': 'A suspended or deactivated user was made active again',
  'user.locked': 'Sign-in was locked for a user (failed attempts or an administrator)',
  'user.unlocked': 'A sign-in lockout was lifted',
  'session.created': 'A user signed in (a new session)',
  'session.revoked': 'A session ended: sign-out, revocation, or a password change',
  'session.expired': 'A session reached its end of life',
  'security.password.changed': 'A user changed their password',
  'security.password.reset': 'A user reset their password with a reset token',
  'security.mfa.enabled': 'A user turned on two-factor authentication (a TOTP factor was confirmed)',
  'security.mfa.disabled':
    'Two-factor authentication was turned off by the user or reset by an administrator',
  'security.passkey.registered': 'A user registered a passkey',
  'security.passkey.removed': 'A passkey was removed from an account',
  'organization.created': 'An organization was created',
  'organization.updated': 'An organization was renamed or its settings changed',
  'organization.deleted': 'An organization was deleted',
  'organization.ownership_transferred': 'Ownership of an organization moved to another member',
  'organization.member.added': 'A user joined an organization',
  'organization.member.removed': 'A member left or was removed from an organization',
  'organization.member.role_changed': "A member's role in an organization changed",
  'organization.invitation.created': 'Someone was invited to an organization',
  'organization.invitation.resent': 'An invitation was sent again with a new token',
  'organization.invitation.accepted': 'An invitation was accepted',
  'organization.invitation.revoked': 'An invitation was revoked',
  'sso.connection.created': "An organization's SAML connection was created",
  'sso.connection.updated': "An organization's SAML connection changed (settings, IdP metadata, SP key)",
  'sso.connection.deleted': "An organization's SAML connection was deleted",
  'sso.signin.succeeded': 'A user signed in through their organization’s SAML IdP',
  'sso.signin.failed': 'A SAML response was refused (the reason is in the payload)',
  'organization.role.created': 'A custom role was created in an organization',
  'organization.role.updated': 'A custom role was renamed or its permissions changed',
  'organization.role.deleted': 'A custom role was deleted',
  'webhook.endpoint.disabled': 'An endpoint was disabled because its deliveries kept failing',
};

export const WEBHOOK_TEST_EVENT = 'webhook.test';

export const EVENT_CATALOGUE: ReadonlyArray<{ type: string; description: string }> = [
  ...Object.entries(DOMAIN_EVENTS).map(([type, description]) => ({ type, description })),
  { type: WEBHOOK_TEST_EVENT, description: 'A test event, sent on request to one endpoint only' },
];

const KNOWN = new Set(EVENT_CATALOGUE.map((e) => e.type));

/** The original SDK's event names where they differ from ours. */
export const EVENT_ALIASES: Readonly<Record<string, string>> = {
  'user.signed_in': 'session.created',
  'user.signed_out': 'session.revoked',
  // The SDK's own spelling coincides with ours; kept so the mapping is explicit.
  'session.expired': 'session.expired',
  'organization.member_added': 'organization.member.added',
  'organization.member_removed': 'organization.member.removed',
};

export const MAX_EVENTS = 100;

/** Whether `pattern` (`*`, `prefix.*` or an exact name) matches `type`. */
export function matchesPattern(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** One subscription entry in our spelling, or undefined when it names nothing we have. */
function canonical(entry: string): string | undefined {
  const name = EVENT_ALIASES[entry] ?? entry;
  if (name === '*' || KNOWN.has(name)) return name;
  // `prefix.*` must cover at least one event (a typo such as `usr.*` would silently match nothing).
  if (/^[a-z_]+(\.[a-z_]+)*\.\*$/.test(name) && [...KNOWN].some((t) => matchesPattern(name, t))) return name;
  return undefined;
}

/** Validates and normalizes a subscription list: our names, deduplicated, in the order given. */
export function normalizeEvents(events: readonly string[]): string[] {
  if (events.length === 0)
    throw validation('events must list at least one event type, a prefix.* pattern or *', {
      events: 'empty',
    });
  if (events.length > MAX_EVENTS)
    throw validation(`events may list at most ${MAX_EVENTS} entries`, { events: 'too many' });
  const out: string[] = [];
  const unknown: string[] = [];
  for (const raw of events) {
    const name = typeof raw === 'string' && raw.length <= 100 ? canonical(raw.trim()) : undefined;
    if (name === undefined) unknown.push(String(raw).slice(0, 100));
    else if (!out.includes(name)) out.push(name);
  }
  if (unknown.length)
    throw validation(
      `Unknown event type(s): ${unknown.map((u) => JSON.stringify(u)).join(', ')} (see GET /api/v1/webhooks/events)`,
      { events: 'unknown' },
    );
  return out;
}
