import type { Migration } from './types.js';

/**
 * One-time tokens of the email flows (verification, password reset, magic link, email change). Only a SHA-256
 * of the token is kept (the token has 256 random bits, so a fast hash leaves nothing to guess). A token is
 * spent by one conditional UPDATE on `consumed_at` (use, a newer token of the same purpose, a password change);
 * `consume_reason` says which. `email` is the address the link was sent to (for an email change: the new one),
 * `redirect_url` the allow-listed page the link leads to. The (user, purpose, created_at) index serves
 * "spend the older ones" and the per-address send limit; the expiry index serves cleanup.
 */
export const m0006: Migration = {
  version: 6,
  name: 'one_time_tokens',
  up: (db, t) => [
    db.schema
      .createTable('one_time_tokens')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('redirect_url', 'text')
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('consumed_at', t.ts)
      .addColumn('consume_reason', 'text'),
    db.schema
      .createIndex('one_time_tokens_user_idx')
      .on('one_time_tokens')
      .columns(['user_id', 'purpose', 'created_at']),
    db.schema.createIndex('one_time_tokens_expires_idx').on('one_time_tokens').column('expires_at'),
  ],
};
