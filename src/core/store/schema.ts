/**
 * Row types as Kysely sees them. Timestamps, booleans and JSON differ by dialect (SQLite: epoch ms, 0/1,
 * text; Postgres: timestamptz, boolean, jsonb), so the select side is the union and repositories decode
 * every row through ./codec.ts. Core code above the repositories never sees a 0/1 or a date string.
 */
import type { ColumnType, Generated } from 'kysely';
import type { SsoTables } from './schema-sso.js';

export type Ts = ColumnType<Date | number | string, Date, Date>;
export type TsNull = ColumnType<Date | number | string | null, Date | null | undefined, Date | null>;
export type Bool = ColumnType<boolean | number, boolean | undefined, boolean>;
export type Json = ColumnType<unknown, string, string>;

export interface UsersTable {
  id: string;
  email: string;
  email_verified: Bool;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  profile_image_url: string | null;
  phone_number: string | null;
  phone_verified: Bool;
  timezone: string | null;
  locale: string | null;
  status: string;
  is_admin: Bool;
  mfa_enabled: Bool;
  user_metadata: Json;
  /** Kept from an import (Auth0 `app_metadata`); migration 0008. */
  app_metadata: Generated<Json>;
  nickname: Generated<string | null>;
  created_at: Ts;
  updated_at: Ts;
  last_sign_in_at: TsNull;
}

/** Accounts at other providers linked to a user (migration 0008). */
export interface UserIdentitiesTable {
  id: string;
  user_id: string;
  provider: string;
  provider_user_id: string;
  connection: string | null;
  is_social: Bool;
  profile: Json;
  created_at: Ts;
  updated_at: Ts;
}

/** What an import made of each source record (migration 0008). */
export interface ImportRecordsTable {
  source: string;
  kind: string;
  external_id: string;
  local_id: string;
  source_hash: string;
  needs_password: Bool;
  imported_at: Ts;
  updated_at: Ts;
}

/** One import run's checkpoint (migration 0008). */
export interface ImportRunsTable {
  id: string;
  source: string;
  input_key: string;
  state: string;
  phase: string;
  position: Generated<number>;
  stats: Json;
  started_at: Ts;
  updated_at: Ts;
  finished_at: TsNull;
}

/** Privileged: password hashes, read only by the credential repository. */
export interface PasswordCredentialsTable {
  user_id: string;
  password_hash: string;
  created_at: Ts;
  updated_at: Ts;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: Ts;
  last_used_at: Ts;
  expires_at: Ts;
  revoked_at: TsNull;
  revoke_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  token_hash: string;
  created_at: Ts;
  expires_at: Ts;
  used_at: TsNull;
}

export interface SignInAttemptsTable {
  key: string;
  failed_count: number;
  locked_until: TsNull;
  updated_at: Ts;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  state: string;
  public_jwk: Json;
  private_key_enc: string;
  created_at: Ts;
  activated_at: TsNull;
  retired_at: TsNull;
  expires_at: TsNull;
}

export interface AuditEventsTable {
  id: string;
  occurred_at: Ts;
  action: string;
  outcome: string;
  actor_id: string | null;
  actor_type: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: Json;
}

export interface OutboxTable {
  seq: Generated<number>;
  id: string;
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: Json;
  created_at: Ts;
  handled_at: TsNull;
}

export interface JobsTable {
  id: string;
  kind: string;
  payload: Json;
  state: string;
  run_at: Ts;
  attempts: number;
  max_attempts: number;
  idempotency_key: string | null;
  claim_id: string | null;
  last_error: string | null;
  created_at: Ts;
  updated_at: Ts;
  finished_at: TsNull;
}

export interface MailMessagesTable {
  id: string;
  user_id: string | null;
  to_address: string;
  from_address: string;
  template: string;
  subject: string;
  text_body: string;
  html_body: string;
  status: string;
  attempts: number;
  resends: number;
  last_error: string | null;
  job_id: string | null;
  created_at: Ts;
  updated_at: Ts;
  sent_at: TsNull;
}

export interface WebhookEndpointsTable {
  id: string;
  organization_id: string | null;
  url: string;
  description: string | null;
  events: Json;
  headers: Json;
  secret_box: string;
  previous_secret_box: string | null;
  previous_secret_expires_at: TsNull;
  status: string;
  disabled_reason: string | null;
  disabled_at: TsNull;
  failing_since: TsNull;
  created_by: string | null;
  created_at: Ts;
  updated_at: Ts;
}

export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  organization_id: string | null;
  body: string;
  status: string;
  attempts: number;
  response_status: number | null;
  response_body: string | null;
  latency_ms: number | null;
  last_error: string | null;
  next_attempt_at: TsNull;
  job_id: string | null;
  replay_of: string | null;
  event_created_at: Ts;
  created_at: Ts;
  updated_at: Ts;
  delivered_at: TsNull;
}

export interface CronRunsTable {
  id: string;
  job: string;
  slot: TsNull;
  trigger: string;
  node: string;
  outcome: string;
  rows_affected: number;
  error: string | null;
  started_at: Ts;
  finished_at: TsNull;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Ts;
}

export interface SettingsTable {
  key: string;
  value: Json;
  updated_at: Ts;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Ts;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  logo_url: string | null;
  metadata: Json;
  created_by: string | null;
  created_at: Ts;
  updated_at: Ts;
  /** Members must have a second factor to sign in (migration 0009). */
  require_mfa: Bool;
}

export interface OrganizationRolesTable {
  id: string;
  organization_id: string;
  name: string;
  description: string | null;
  permissions: Json;
  created_at: Ts;
  updated_at: Ts;
}

export interface OrganizationMembersTable {
  organization_id: string;
  user_id: string;
  role: string;
  joined_at: Ts;
  invited_by: string | null;
}

export interface OrganizationInvitationsTable {
  id: string;
  organization_id: string;
  email: string;
  role: string;
  token_hash: string;
  invited_by: string | null;
  created_at: Ts;
  expires_at: Ts;
  accepted_at: TsNull;
  accepted_by: string | null;
  revoked_at: TsNull;
}

/** Email-flow one-time tokens (hash only; see migration 0006). */
export interface OneTimeTokensTable {
  id: string;
  user_id: string;
  purpose: string;
  token_hash: string;
  email: string;
  redirect_url: string | null;
  created_at: Ts;
  expires_at: Ts;
  consumed_at: TsNull;
  consume_reason: string | null;
}

/** A user's TOTP factor (migration 0009); the seed sealed with the master key. */
export interface MfaTotpFactorsTable {
  user_id: string;
  seed_box: string;
  status: string;
  last_step: ColumnType<number | string | null, number | null, number | null>;
  created_at: Ts;
  confirmed_at: TsNull;
  last_used_at: TsNull;
}

/** Backup codes (peppered HMAC only; migration 0009). */
export interface MfaBackupCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: Ts;
  used_at: TsNull;
}

/** The `mfa_token` of a sign-in awaiting its second factor (hash only; migration 0009). */
export interface MfaChallengesTable {
  id: string;
  token_hash: string;
  user_id: string;
  purpose: string;
  method: string;
  ip: string | null;
  user_agent: string | null;
  failed_attempts: Generated<number>;
  created_at: Ts;
  expires_at: Ts;
  consumed_at: TsNull;
}

/** Passkeys (migration 0010). */
export interface WebauthnCredentialsTable {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  sign_count: ColumnType<number | string | bigint, number, number>;
  transports: Json;
  device_type: string;
  backed_up: Bool;
  aaguid: string;
  name: string;
  created_at: Ts;
  updated_at: Ts;
  last_used_at: TsNull;
}

export interface WebauthnChallengesTable {
  id: string;
  challenge_hash: string;
  ceremony: string;
  user_id: string | null;
  created_at: Ts;
  expires_at: Ts;
  consumed_at: TsNull;
}

/** An export or erasure request (migration 0011). `user_id` becomes the pseudonym once the user is erased. */
export interface GdprRequestsTable {
  id: string;
  kind: string;
  user_id: string;
  status: string;
  requested_by: string | null;
  requested_by_type: string;
  reason: string | null;
  format: string | null;
  due_at: TsNull;
  expires_at: TsNull;
  job_id: string | null;
  last_error: string | null;
  created_at: Ts;
  updated_at: Ts;
  completed_at: TsNull;
  cancelled_at: TsNull;
}

/** A finished export archive, base64 (migration 0011). */
export interface GdprExportsTable {
  request_id: string;
  content_type: string;
  file_name: string;
  archive: string;
  sha256: string;
  size_bytes: number;
  created_at: Ts;
  expires_at: Ts;
}

/** What an erasure did; no personal data (migration 0011). */
export interface DeletionReceiptsTable {
  id: string;
  request_id: string | null;
  subject: string;
  requested_at: TsNull;
  requested_by_type: string | null;
  executed_by: string | null;
  executed_by_type: string;
  steps: Json;
  executed_at: Ts;
}

/** Append-only consent history (migration 0011). */
export interface ConsentRecordsTable {
  id: string;
  user_id: string;
  purpose: string;
  granted: Bool;
  legal_basis: string;
  version: string | null;
  source: string;
  ip: string | null;
  user_agent: string | null;
  recorded_at: Ts;
}

export interface Database extends SsoTables {
  organizations: OrganizationsTable;
  organization_roles: OrganizationRolesTable;
  organization_members: OrganizationMembersTable;
  organization_invitations: OrganizationInvitationsTable;
  users: UsersTable;
  password_credentials: PasswordCredentialsTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  sign_in_attempts: SignInAttemptsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  outbox: OutboxTable;
  jobs: JobsTable;
  mail_messages: MailMessagesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  cron_runs: CronRunsTable;
  leases: LeasesTable;
  settings: SettingsTable;
  janua_schema_migrations: SchemaMigrationsTable;
  one_time_tokens: OneTimeTokensTable;
  user_identities: UserIdentitiesTable;
  import_records: ImportRecordsTable;
  import_runs: ImportRunsTable;
  mfa_totp_factors: MfaTotpFactorsTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_challenges: MfaChallengesTable;
  webauthn_credentials: WebauthnCredentialsTable;
  webauthn_challenges: WebauthnChallengesTable;
  gdpr_requests: GdprRequestsTable;
  gdpr_exports: GdprExportsTable;
  deletion_receipts: DeletionReceiptsTable;
  consent_records: ConsentRecordsTable;
}
