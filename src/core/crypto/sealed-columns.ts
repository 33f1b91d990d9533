/**
 * Every column that holds a value sealed with the master key (SecretBox), so `janua keys rotate-master` can
 * re-seal them all. A module that stores a sealed column adds it here; a test fails when a `*_box` or `*_enc`
 * column of the schema is missing, so the list cannot fall behind the schema. Peppers (JSON in `settings`) are
 * handled beside these (crypto/peppers.ts).
 */
export interface SealedColumn {
  table: string;
  /** The primary key column, used to walk the table in order (resumable) and to update one row. */
  key: string;
  column: string;
  /** The SecretBox purpose the value was sealed with. */
  purpose: string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'signing_keys', key: 'kid', column: 'private_key_enc', purpose: 'signing-key' },
  { table: 'webhook_endpoints', key: 'id', column: 'secret_box', purpose: 'webhook-secret' },
  { table: 'webhook_endpoints', key: 'id', column: 'previous_secret_box', purpose: 'webhook-secret' },
  { table: 'mfa_totp_factors', key: 'user_id', column: 'seed_box', purpose: 'totp-seed' },
  { table: 'sso_connections', key: 'id', column: 'sp_key_box', purpose: 'sso-sp-key' },
  { table: 'sso_connections', key: 'id', column: 'sp_previous_key_box', purpose: 'sso-sp-key' },
];
