import { sql } from 'kysely';
import type { Migration } from './types.js';

/**
 * Accounts that come from another system (issue 13: `janua migrate auth0`).
 *
 * `users.app_metadata`: what the source kept about a user for applications, not editable by the user (Auth0's
 * `app_metadata`; `user_metadata` already exists). `users.nickname`: Auth0's `nickname` profile field.
 *
 * `user_identities`: accounts at other providers linked to a user (Auth0 `identities[]`: `google-oauth2`,
 * `github`, `windowslive`, `apple`, …; later the social-login flows). One (provider, provider_user_id) belongs
 * to one user.
 *
 * `import_records`: what an import made of each source record, keyed by (source, kind, external_id): the Auth0
 * `user_id` of a user (`kind` user), an Auth0 organization id (organization), a role id (role). `local_id` is
 * the Janua row it became. `source_hash` is a digest of the mapped record: a later run that finds the same
 * digest changes nothing (a re-run is a no-op; a delta run touches only what changed). `needs_password`: the
 * user came without a usable password hash (reset or lazy migration will give them one).
 *
 * `import_runs`: one run's checkpoint, so a run killed at any point resumes where its last committed batch
 * ended: `input_key` fingerprints the inputs (a different file is a different run), `phase` and `position`
 * say how far it got, `stats` holds the counts so far.
 */
export const m0008: Migration = {
  version: 8,
  name: 'imports',
  up: (db, t) => [
    db.schema.alterTable('users').addColumn('app_metadata', t.json, (c) => c.notNull().defaultTo(sql`'{}'`)),
    db.schema.alterTable('users').addColumn('nickname', 'text'),
    db.schema
      .createTable('user_identities')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('provider_user_id', 'text', (c) => c.notNull())
      .addColumn('connection', 'text')
      .addColumn('is_social', t.bool, (c) => c.notNull().defaultTo(false))
      .addColumn('profile', t.json, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('user_identities_provider_key', ['provider', 'provider_user_id']),
    db.schema.createIndex('user_identities_user_idx').on('user_identities').column('user_id'),
    db.schema
      .createTable('import_records')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text', (c) => c.notNull())
      .addColumn('local_id', t.uuid, (c) => c.notNull())
      .addColumn('source_hash', 'text', (c) => c.notNull())
      .addColumn('needs_password', t.bool, (c) => c.notNull().defaultTo(false))
      .addColumn('imported_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('import_records_pkey', ['source', 'kind', 'external_id']),
    // All three columns: with (local_id, kind) only, SQLite's planner (no statistics) preferred the primary
    // key's (source, kind) prefix for `source = ? AND kind = ? AND local_id IN (…)` and scanned every record.
    db.schema
      .createIndex('import_records_local_idx')
      .on('import_records')
      .columns(['local_id', 'kind', 'source']),
    db.schema
      .createTable('import_runs')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('input_key', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('phase', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('stats', t.json, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('started_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('finished_at', t.ts),
    db.schema
      .createIndex('import_runs_input_idx')
      .on('import_runs')
      .columns(['source', 'input_key', 'state']),
  ],
};
