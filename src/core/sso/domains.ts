/**
 * Email domains an organization claims, for discovery: `GET /api/v1/sso/initiate?email=jane@acme.com` finds
 * the organization whose verified domain is `acme.com` and starts its SSO. A domain routes sign-ins only once
 * verified: by a DNS TXT record `_janua-verification.<domain>` holding `janua-verification=<token>` (checked
 * on request), or directly by a platform admin (who answers for it). A domain belongs to one organization.
 */
import { resolveTxt } from 'node:dns/promises';
import { randomToken } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import { conflict, forbidden, notFound, validation } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import type { Actor } from '../rbac/access.js';
import type { SsoConnection } from '../store/repos/sso-connections.js';
import { type SsoDomain, ssoConnections, ssoDomains } from '../store/repos/sso-connections.js';
import { requireSsoScope } from './connections.js';

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function normalizeDomain(raw: string): string {
  const d = String(raw ?? '')
    .trim()
    .toLowerCase()
    .replace(/\.$/, '');
  if (!DOMAIN_RE.test(d)) throw validation(`"${raw}" is not a domain name`, { domain: 'invalid' });
  return d;
}

export const txtRecordName = (domain: string) => `_janua-verification.${domain}`;
export const txtRecordValue = (d: SsoDomain) => `janua-verification=${d.verificationToken}`;

export async function addDomain(
  deps: Pick<Deps, 'store' | 'clock'>,
  actor: Actor,
  orgRef: string,
  raw: string,
  opts: { verified?: boolean | undefined },
  ctx: RequestContext,
): Promise<SsoDomain> {
  const orgId = await requireSsoScope(deps, actor, orgRef, 'sso:write');
  if (opts.verified && !actor.isAdmin)
    throw forbidden(
      'Only platform administrators may mark a domain verified; publish the DNS record instead',
    );
  const domain = normalizeDomain(raw);
  const now = deps.clock.now();
  const d: SsoDomain = {
    domain,
    organizationId: orgId,
    verificationToken: randomToken(16),
    verifiedAt: opts.verified ? now : null,
    createdAt: now,
  };
  return deps.store.transaction(async (tx) => {
    if (!(await ssoDomains.insert(tx, d))) throw conflict(`The domain ${domain} is already claimed`);
    await audit(
      tx,
      ctx,
      {
        action: 'sso.domain.add',
        targetType: 'organization',
        targetId: orgId,
        metadata: { domain, verified: !!opts.verified },
      },
      now,
    );
    return d;
  });
}

/** Checks the DNS TXT record and marks the domain verified when it holds the token. */
export async function verifyDomain(
  deps: Pick<Deps, 'store' | 'clock'>,
  actor: Actor,
  orgRef: string,
  raw: string,
  ctx: RequestContext,
  lookup: (name: string) => Promise<string[][]> = resolveTxt,
): Promise<SsoDomain> {
  const orgId = await requireSsoScope(deps, actor, orgRef, 'sso:write');
  const domain = normalizeDomain(raw);
  const d = await ssoDomains.find(deps.store.db, domain);
  if (!d || d.organizationId !== orgId) throw notFound('Domain not found');
  if (d.verifiedAt) return d;
  let records: string[][] = [];
  try {
    records = await lookup(txtRecordName(domain));
  } catch {
    records = [];
  }
  if (!records.some((parts) => parts.join('') === txtRecordValue(d)))
    throw validation(
      `No TXT record ${txtRecordName(domain)} with the value ${txtRecordValue(d)} was found; publish it and try again`,
      { domain: 'unverified' },
    );
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await ssoDomains.markVerified(tx, domain, now);
    await audit(
      tx,
      ctx,
      { action: 'sso.domain.verify', targetType: 'organization', targetId: orgId, metadata: { domain } },
      now,
    );
  });
  return { ...d, verifiedAt: now };
}

export async function listDomains(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgRef: string,
): Promise<SsoDomain[]> {
  const orgId = await requireSsoScope(deps, actor, orgRef, 'sso:read');
  return ssoDomains.listByOrg(deps.store.db, orgId);
}

export async function removeDomain(
  deps: Pick<Deps, 'store' | 'clock'>,
  actor: Actor,
  orgRef: string,
  raw: string,
  ctx: RequestContext,
): Promise<void> {
  const orgId = await requireSsoScope(deps, actor, orgRef, 'sso:write');
  const domain = normalizeDomain(raw);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await ssoDomains.delete(tx, orgId, domain))) throw notFound('Domain not found');
    await audit(
      tx,
      ctx,
      { action: 'sso.domain.remove', targetType: 'organization', targetId: orgId, metadata: { domain } },
      now,
    );
  });
}

/** The enabled connection an email's verified domain leads to, if any. */
export async function connectionForEmail(
  deps: Pick<Deps, 'store'>,
  email: string,
): Promise<SsoConnection | undefined> {
  const at = email.lastIndexOf('@');
  if (at < 1) return undefined;
  let domain: string;
  try {
    domain = normalizeDomain(email.slice(at + 1));
  } catch {
    return undefined;
  }
  const d = await ssoDomains.find(deps.store.db, domain);
  if (!d?.verifiedAt) return undefined;
  return (await ssoConnections.listByOrg(deps.store.db, d.organizationId)).find((c) => c.enabled);
}

/** Whether the organization holds this email's domain, verified. */
export async function orgOwnsEmailDomain(
  deps: Pick<Deps, 'store'>,
  organizationId: string,
  email: string,
): Promise<boolean> {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  const d = await ssoDomains.find(deps.store.db, domain);
  return !!d?.verifiedAt && d.organizationId === organizationId;
}

/**
 * The SDK's `allowed_domains` of a configuration: each domain is claimed for the organization (verified at
 * once when a platform admin names it — they answer for it — else pending its DNS record). A domain the
 * organization already holds is left as it is; one another organization holds is a conflict.
 */
export async function claimDomains(
  deps: Pick<Deps, 'store' | 'clock'>,
  actor: Actor,
  orgId: string,
  domains: readonly string[],
  ctx: RequestContext,
): Promise<void> {
  for (const raw of domains) {
    const domain = normalizeDomain(raw);
    const held = await ssoDomains.find(deps.store.db, domain);
    if (held?.organizationId === orgId) continue;
    await addDomain(deps, actor, orgId, domain, { verified: actor.isAdmin }, ctx);
  }
}
