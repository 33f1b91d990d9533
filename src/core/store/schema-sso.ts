/** Row types of the SSO tables (migration 0012), kept apart from schema.ts so the area merges on its own. */
import type { Bool, Json, Ts, TsNull } from './schema.js';

export interface SsoConnectionsTable {
  id: string;
  organization_id: string;
  name: string;
  provider: string;
  enabled: Bool;
  idp_entity_id: string;
  idp_sso_url: string;
  /** JSON array of PEM certificates; any one may sign (IdP roll-over). */
  idp_certificates: Json;
  idp_wants_signed_requests: Bool;
  metadata_url: string | null;
  metadata_xml: string | null;
  metadata_refreshed_at: TsNull;
  metadata_error: string | null;
  sp_key_box: string;
  sp_certificate: string;
  sp_previous_key_box: string | null;
  sp_previous_certificate: string | null;
  sp_key_rotated_at: TsNull;
  attribute_mapping: Json;
  group_roles: Json;
  default_role: string;
  jit_provisioning: Bool;
  allow_idp_initiated: Bool;
  created_at: Ts;
  updated_at: Ts;
}

export interface SsoDomainsTable {
  domain: string;
  organization_id: string;
  verification_token: string;
  verified_at: TsNull;
  created_at: Ts;
}

export interface SsoRequestsTable {
  id: string;
  connection_id: string;
  relay_state: string;
  browser_hash: string;
  redirect_uri: string | null;
  app_state: string | null;
  created_at: Ts;
  expires_at: Ts;
  consumed_at: TsNull;
}

export interface SamlAssertionIdsTable {
  issuer: string;
  assertion_id: string;
  expires_at: Ts;
}

export interface AuthCodesTable {
  id: string;
  code_hash: string;
  user_id: string;
  redirect_uri: string;
  method: string;
  details: Json;
  created_at: Ts;
  expires_at: Ts;
  consumed_at: TsNull;
}

export interface SsoTables {
  sso_connections: SsoConnectionsTable;
  sso_domains: SsoDomainsTable;
  sso_requests: SsoRequestsTable;
  saml_assertion_ids: SamlAssertionIdsTable;
  auth_codes: AuthCodesTable;
}
