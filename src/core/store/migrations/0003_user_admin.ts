import type { Migration } from './types.js';

/**
 * Indexes for the admin user list, from bench/users.ts on 100,000 users: sorting by last sign-in walks an index
 * instead of sorting every user, and `email_verified` (with or without a created_at range) counts and pages
 * from an index instead of reading every row.
 */
export const m0003: Migration = {
  version: 3,
  name: 'user_admin',
  up: (db) => [
    db.schema.createIndex('users_last_sign_in_idx').on('users').columns(['last_sign_in_at', 'id']),
    db.schema
      .createIndex('users_verified_created_idx')
      .on('users')
      .columns(['email_verified', 'created_at', 'id']),
  ],
};
