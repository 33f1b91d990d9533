/**
 * The connection object of the API and of `janua sso … --json`: the original SDK's fields (`id,
 * organization_id, provider, status, enabled, saml_entity_id, saml_acs_url, saml_sso_url`, API.md "Client
 * compatibility") and what an admin needs to set the IdP up (our entity id, metadata URL, certificate) and to
 * see its health (metadata refresh, certificate expiry). Never a private key.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { JanuaConfig } from '../config/schema.js';
import type { Deps } from '../deps.js';
import { type SsoConnection, type SsoDomain, ssoDomains } from '../store/repos/sso-connections.js';
import { connectionAcsUrl, sharedAcsUrl, spEntityId } from './sp.js';

export interface CertificateInfo {
  subject: string | null;
  not_after: string | null;
  expired: boolean;
  sha256_fingerprint: string;
}

export function certificateInfo(pem: string, now: Date): CertificateInfo {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const fingerprint = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
  try {
    const x = new X509Certificate(pem);
    const notAfter = new Date(x.validTo);
    return {
      subject: x.subject.replace(/\n/g, ', '),
      not_after: notAfter.toISOString(),
      expired: notAfter <= now,
      sha256_fingerprint: fingerprint,
    };
  } catch {
    return { subject: null, not_after: null, expired: false, sha256_fingerprint: fingerprint };
  }
}

/** active: enabled and its metadata current; error: the last metadata refresh failed; inactive: disabled. */
export function connectionStatus(c: SsoConnection): 'active' | 'inactive' | 'error' {
  if (!c.enabled) return 'inactive';
  return c.metadataError ? 'error' : 'active';
}

export function presentConnection(
  config: Pick<JanuaConfig, 'baseUrl'>,
  c: SsoConnection,
  domains: readonly SsoDomain[],
  now: Date,
) {
  return {
    id: c.id,
    organization_id: c.organizationId,
    name: c.name,
    provider: c.provider,
    status: connectionStatus(c),
    enabled: c.enabled,
    saml_entity_id: c.idpEntityId,
    saml_sso_url: c.idpSsoUrl,
    saml_acs_url: connectionAcsUrl(config, c.id),
    saml_shared_acs_url: sharedAcsUrl(config),
    sp_entity_id: spEntityId(config, c.id),
    sp_metadata_url: spEntityId(config, c.id),
    sp_certificate: c.spCertificate,
    sp_certificate_info: certificateInfo(c.spCertificate, now),
    sp_key_rotated_at: c.spKeyRotatedAt?.toISOString() ?? null,
    saml_certificates: c.idpCertificates.map((p) => certificateInfo(p, now)),
    want_authn_requests_signed: c.idpWantsSignedRequests,
    saml_metadata_url: c.metadataUrl,
    metadata_refreshed_at: c.metadataRefreshedAt?.toISOString() ?? null,
    metadata_error: c.metadataError,
    attribute_mapping: { ...c.attributeMapping } as Record<string, string>,
    group_roles: c.groupRoles,
    default_role: c.defaultRole,
    jit_provisioning: c.jitProvisioning,
    allow_idp_initiated: c.allowIdpInitiated,
    allowed_domains: domains.map((d) => d.domain),
    domains: domains.map((d) => ({ domain: d.domain, verified: d.verifiedAt !== null })),
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export type PublicConnection = ReturnType<typeof presentConnection>;

export function presentDomain(d: SsoDomain) {
  return {
    domain: d.domain,
    organization_id: d.organizationId,
    verified: d.verifiedAt !== null,
    verified_at: d.verifiedAt?.toISOString() ?? null,
    dns_record: {
      type: 'TXT',
      name: `_janua-verification.${d.domain}`,
      value: `janua-verification=${d.verificationToken}`,
    },
    created_at: d.createdAt.toISOString(),
  };
}

/** The connection as the API shows it, with its organization's domains. */
export async function describeConnection(
  deps: Pick<Deps, 'store' | 'config' | 'clock'>,
  c: SsoConnection,
): Promise<PublicConnection> {
  return presentConnection(
    deps.config,
    c,
    await ssoDomains.listByOrg(deps.store.db, c.organizationId),
    deps.clock.now(),
  );
}
