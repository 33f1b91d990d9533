/**
 * Our side of a connection (the SP): its entity id and ACS URL, derived from `JANUA_BASE_URL` and the
 * connection id so they never change while the connection lives (the IdP admin pastes them once), and its key
 * pair — sealed under the master key at rest, opened only to sign an AuthnRequest or decrypt an assertion.
 */
import { X509Certificate } from 'node:crypto';
import type { JanuaConfig } from '../config/schema.js';
import type { SecretBox } from '../crypto/secrets.js';
import { validation } from '../errors.js';
import type { SsoConnection } from '../store/repos/sso-connections.js';
import type { IdpConfig, SpConfig } from './saml-api.js';

/** The SecretBox purpose of SP private keys (crypto/sealed-columns.ts lists the columns). */
export const SP_KEY_PURPOSE = 'sso-sp-key';

const base = (config: Pick<JanuaConfig, 'baseUrl'>) => config.baseUrl.replace(/\/+$/, '');

/** The SP entity id: also the URL of our SP metadata for this connection (SAML metadata §4.1: well-known). */
export function spEntityId(config: Pick<JanuaConfig, 'baseUrl'>, connectionId: string): string {
  return `${base(config)}/api/v1/sso/metadata/${connectionId}`;
}

/** The connection's own ACS URL (what our metadata and AuthnRequests name). */
export function connectionAcsUrl(config: Pick<JanuaConfig, 'baseUrl'>, connectionId: string): string {
  return `${base(config)}/api/v1/sso/acs/${connectionId}`;
}

/** The shared ACS URL of API.md (`POST /api/v1/sso/acs`): the connection comes from RelayState. */
export function sharedAcsUrl(config: Pick<JanuaConfig, 'baseUrl'>): string {
  return `${base(config)}/api/v1/sso/acs`;
}

/**
 * The SP half as the SAML engine takes it. `acsUrl` is the URL the response was posted to: Destination and
 * Recipient must name exactly that (SAML bindings §3.5.5.2, profiles §4.1.4.3).
 */
export function spConfigFor(
  config: Pick<JanuaConfig, 'baseUrl'>,
  box: SecretBox,
  c: SsoConnection,
  acsUrl = connectionAcsUrl(config, c.id),
): SpConfig {
  const current = box.open(SP_KEY_PURPOSE, c.spKeyBox);
  const previous = c.spPreviousKeyBox ? [box.open(SP_KEY_PURPOSE, c.spPreviousKeyBox)] : [];
  return {
    entityId: spEntityId(config, c.id),
    acsUrl,
    decryptionKeys: [current, ...previous],
    signingKey: current,
    signingCert: c.spCertificate,
    ...(c.spPreviousCertificate ? { extraCerts: [c.spPreviousCertificate] } : {}),
  };
}

export function idpConfigFor(c: SsoConnection): IdpConfig {
  return {
    entityId: c.idpEntityId,
    ssoUrl: c.idpSsoUrl,
    certificates: c.idpCertificates,
    wantAuthnRequestsSigned: c.idpWantsSignedRequests,
  };
}

/**
 * A certificate as an admin pastes it (PEM, or the bare base64 of metadata) → PEM, refusing anything that is
 * not an X.509 certificate. Expired ones are accepted (many IdPs sign with long-expired self-signed
 * certificates; SAML trusts the configured key, not the validity period) — the API reports `not_after`.
 */
export function normalizeCertificate(raw: string, field = 'saml_certificate'): string {
  const body = raw.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!body || !/^[A-Za-z0-9+/]+=*$/.test(body))
    throw validation(`${field} must be a PEM or base64 X.509 certificate`, { [field]: 'invalid' });
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw validation(`${field} is not a readable X.509 certificate`, { [field]: 'invalid' });
  }
  return pem;
}

/** When a PEM certificate stops being valid (for listings). */
export function certificateNotAfter(pem: string): string | null {
  try {
    return new Date(new X509Certificate(pem).validTo).toISOString();
  } catch {
    return null;
  }
}
