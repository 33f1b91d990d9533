import type { Migration } from './types.js';

/**
 * TOTP multi-factor authentication (issue 14).
 * - `mfa_totp_factors`: one factor per user. The RFC 6238 seed is sealed with the master key (`seed_box`,
 *   purpose `totp-seed`, listed in crypto/sealed-columns.ts). `status` is pending until the user confirms a
 *   code, then active. `last_step` is the last accepted RFC 6238 time-step: a code is accepted only by a
 *   compare-and-set `UPDATE … WHERE last_step < :step`, so a code is never accepted twice, even by two nodes.
 * - `mfa_backup_codes`: the user's current set of recovery codes, only a peppered HMAC of each stored; a code is
 *   spent by `UPDATE … WHERE used_at IS NULL`. A new set deletes the old one.
 * - `mfa_challenges`: the `mfa_token` of a sign-in that still needs a second factor (or an enrolment): only
 *   its SHA-256 stored, 5 minutes, single use, bound to the user and the sign-in's user agent, with a counter
 *   of wrong codes.
 * - `organizations.require_mfa`: members of such an organization must have a second factor to sign in.
 */
export const m0009: Migration = {
  version: 9,
  name: 'mfa',
  up: (db, t) => [
    db.schema
      .createTable('mfa_totp_factors')
      .addColumn('user_id', t.uuid, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('seed_box', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('last_step', 'bigint')
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('confirmed_at', t.ts)
      .addColumn('last_used_at', t.ts),
    db.schema
      .createTable('mfa_backup_codes')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('used_at', t.ts)
      .addUniqueConstraint('mfa_backup_codes_user_code_key', ['user_id', 'code_hash']),
    db.schema
      .createTable('mfa_challenges')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('consumed_at', t.ts),
    db.schema.createIndex('mfa_challenges_expires_idx').on('mfa_challenges').column('expires_at'),
    db.schema
      .alterTable('organizations')
      .addColumn('require_mfa', t.bool, (c) => c.notNull().defaultTo(false)),
  ],
};
