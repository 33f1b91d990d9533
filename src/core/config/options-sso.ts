/**
 * Settings of SAML single sign-on (issue 16): how long an AuthnRequest may be answered, the clock skew
 * allowed on assertion times, the size caps applied before any XML work, the IdP metadata fetch, and the
 * schedule of the metadata refresh. Kept apart from schema.ts so the group merges on its own.
 */
import { cronOption } from './options-jobs.js';
import type { OptionSpec } from './schema.js';

export interface SsoConfig {
  ssoRequestMinutes: number;
  samlClockSkewSeconds: number;
  samlMaxResponseKb: number;
  ssoMetadataMaxKb: number;
  ssoMetadataTimeoutSeconds: number;
  ssoAllowPrivateMetadataUrls: boolean;
  cronSsoMetadataRefresh: string;
}

export const SSO_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'ssoRequestMinutes',
    env: 'SSO_REQUEST_MINUTES',
    type: 'int',
    default: 10,
    min: 1,
    max: 60,
    doc: 'Minutes a SAML AuthnRequest may be answered: a response to an older (or already answered) request is refused.',
  },
  {
    key: 'samlClockSkewSeconds',
    env: 'SAML_CLOCK_SKEW_SECONDS',
    type: 'int',
    default: 120,
    min: 0,
    max: 600,
    doc: 'Seconds of clock difference with the IdP allowed on `NotBefore` / `NotOnOrAfter` (assertion conditions and subject confirmation).',
  },
  {
    key: 'samlMaxResponseKb',
    env: 'SAML_MAX_RESPONSE_KB',
    type: 'int',
    default: 256,
    min: 8,
    max: 4096,
    doc: 'Largest SAMLResponse accepted at the ACS, in KiB of decoded XML; checked before any XML parsing (the form body is capped accordingly).',
  },
  {
    key: 'ssoMetadataMaxKb',
    env: 'SSO_METADATA_MAX_KB',
    type: 'int',
    default: 1024,
    min: 16,
    max: 16384,
    doc: 'Largest IdP metadata document fetched or accepted, in KiB.',
  },
  {
    key: 'ssoMetadataTimeoutSeconds',
    env: 'SSO_METADATA_TIMEOUT_SECONDS',
    type: 'int',
    default: 10,
    min: 1,
    max: 120,
    doc: 'Seconds a fetch of IdP metadata by URL may take (connect and read).',
  },
  {
    key: 'ssoAllowPrivateMetadataUrls',
    env: 'SSO_ALLOW_PRIVATE_METADATA_URLS',
    type: 'bool',
    default: false,
    doc: 'Allow IdP metadata URLs on loopback, private, link-local or metadata addresses (an on-premises ADFS or Keycloak). Off: such URLs are refused, checked on the resolved address at connect time.',
  },
  cronOption(
    'cronSsoMetadataRefresh',
    'CRON_SSO_METADATA_REFRESH',
    'sso.metadata-refresh',
    '23 */6 * * *',
    'fetches the IdP metadata of connections configured by URL again (new signing certificates, roll-overs)',
  ),
];
