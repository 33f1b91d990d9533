import { sql } from 'kysely';
import type { Migration } from './types.js';

/** Users, credentials, sessions with rotating refresh tokens, lockout counters, keys, audit and outbox. */
export const m0001: Migration = {
  version: 1,
  name: 'initial',
  up: (db, t, dialect) => [
    db.schema
      .createTable('users')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('email_verified', t.bool, (c) => c.notNull().defaultTo(false))
      .addColumn('username', 'text', (c) => c.unique())
      .addColumn('first_name', 'text')
      .addColumn('last_name', 'text')
      .addColumn('display_name', 'text')
      .addColumn('profile_image_url', 'text')
      .addColumn('phone_number', 'text')
      .addColumn('phone_verified', t.bool, (c) => c.notNull().defaultTo(false))
      .addColumn('timezone', 'text')
      .addColumn('locale', 'text')
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
      .addColumn('is_admin', t.bool, (c) => c.notNull().defaultTo(false))
      .addColumn('mfa_enabled', t.bool, (c) => c.notNull().defaultTo(false))
      .addColumn('user_metadata', t.json, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('last_sign_in_at', t.ts),
    db.schema.createIndex('users_created_at_idx').on('users').columns(['created_at', 'id']),
    db.schema
      .createTable('password_credentials')
      .addColumn('user_id', t.uuid, (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull()),
    db.schema
      .createTable('sessions')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('last_used_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('revoked_at', t.ts)
      .addColumn('revoke_reason', 'text')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text'),
    db.schema.createIndex('sessions_user_idx').on('sessions').columns(['user_id', 'created_at']),
    db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at'),
    db.schema
      .createTable('refresh_tokens')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('session_id', t.uuid, (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('used_at', t.ts),
    db.schema.createIndex('refresh_tokens_session_idx').on('refresh_tokens').column('session_id'),
    db.schema
      .createTable('sign_in_attempts')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failed_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', t.ts)
      .addColumn('updated_at', t.ts, (c) => c.notNull()),
    db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (c) => c.primaryKey())
      .addColumn('alg', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('public_jwk', t.json, (c) => c.notNull())
      .addColumn('private_key_enc', 'text', (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('activated_at', t.ts)
      .addColumn('retired_at', t.ts)
      .addColumn('expires_at', t.ts),
    db.schema
      .createTable('audit_events')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('occurred_at', t.ts, (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text')
      .addColumn('target_id', 'text')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('request_id', 'text')
      .addColumn('metadata', t.json, (c) => c.notNull().defaultTo(sql`'{}'`)),
    db.schema.createIndex('audit_events_time_idx').on('audit_events').columns(['occurred_at', 'id']),
    db.schema.createIndex('audit_events_actor_idx').on('audit_events').columns(['actor_id', 'occurred_at']),
    db.schema.createIndex('audit_events_target_idx').on('audit_events').columns(['target_id', 'occurred_at']),
    db.schema
      .createTable('outbox')
      .addColumn('seq', t.serial, (c) =>
        dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey(),
      )
      .addColumn('id', t.uuid, (c) => c.notNull().unique())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('aggregate_type', 'text', (c) => c.notNull())
      .addColumn('aggregate_id', 'text', (c) => c.notNull())
      .addColumn('payload', t.json, (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull()),
    db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', t.json, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull()),
  ],
};
