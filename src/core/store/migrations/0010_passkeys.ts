import type { Migration } from './types.js';

/**
 * WebAuthn passkeys (issue 14). `webauthn_credentials` holds one registered public-key credential per row:
 * `credential_id` is the authenticator's id (base64url, unique across users: WebAuthn §6.1 calls it
 * probabilistically unique, and a second registration of the same id must fail), `public_key` the COSE key
 * (base64url; public, so not sealed), `sign_count` the last signature counter seen (uint32, hence bigint on
 * Postgres), `transports` a JSON list. `webauthn_challenges` keeps each ceremony's challenge server-side as a
 * SHA-256 hash (the challenge has 256 random bits): registration challenges carry the user, every challenge
 * its ceremony, and one conditional UPDATE on `consumed_at` spends it (single use); `expires_at` is 5 minutes on.
 */
export const m0010: Migration = {
  version: 10,
  name: 'passkeys',
  up: (db, t) => [
    db.schema
      .createTable('webauthn_credentials')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('credential_id', 'text', (c) => c.notNull().unique())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('sign_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('transports', t.json, (c) => c.notNull())
      .addColumn('device_type', 'text', (c) => c.notNull())
      .addColumn('backed_up', t.bool, (c) => c.notNull())
      .addColumn('aaguid', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('last_used_at', t.ts),
    db.schema.createIndex('webauthn_credentials_user_idx').on('webauthn_credentials').column('user_id'),
    db.schema
      .createTable('webauthn_challenges')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('challenge_hash', 'text', (c) => c.notNull().unique())
      .addColumn('ceremony', 'text', (c) => c.notNull())
      .addColumn('user_id', t.uuid, (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('consumed_at', t.ts),
    db.schema.createIndex('webauthn_challenges_expires_idx').on('webauthn_challenges').column('expires_at'),
  ],
};
