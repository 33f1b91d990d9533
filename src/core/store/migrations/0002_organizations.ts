import { sql } from 'kysely';
import type { Migration } from './types.js';

/**
 * Organizations, memberships, custom roles and invitations; indexes for the admin user list (prefix search on
 * lower-cased names, filters, keyset order).
 */
export const m0002: Migration = {
  version: 2,
  name: 'organizations',
  up: (db, t, dialect) => [
    db.schema
      .createTable('organizations')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('slug', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('logo_url', 'text')
      .addColumn('metadata', t.json, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('created_by', t.uuid)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull()),
    db.schema
      .createTable('organization_roles')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('organization_id', t.uuid, (c) =>
        c.notNull().references('organizations.id').onDelete('cascade'),
      )
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('permissions', t.json, (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addUniqueConstraint('organization_roles_org_name_uq', ['organization_id', 'name']),
    db.schema
      .createTable('organization_members')
      .addColumn('organization_id', t.uuid, (c) =>
        c.notNull().references('organizations.id').onDelete('cascade'),
      )
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('joined_at', t.ts, (c) => c.notNull())
      .addColumn('invited_by', t.uuid)
      .addPrimaryKeyConstraint('organization_members_pk', ['organization_id', 'user_id']),
    db.schema.createIndex('organization_members_user_idx').on('organization_members').column('user_id'),
    db.schema
      .createTable('organization_invitations')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('organization_id', t.uuid, (c) =>
        c.notNull().references('organizations.id').onDelete('cascade'),
      )
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('invited_by', t.uuid)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('accepted_at', t.ts)
      .addColumn('accepted_by', t.uuid)
      .addColumn('revoked_at', t.ts),
    db.schema
      .createIndex('organization_invitations_org_idx')
      .on('organization_invitations')
      .columns(['organization_id', 'email']),
    // Prefix search (see store/prefix.ts): Postgres matches with LIKE 'term%', which needs pattern operator
    // classes under a non-C collation; SQLite matches with a range, which any index on the expression serves.
    ...(dialect === 'postgres'
      ? [
          db.schema.createIndex('users_email_prefix_idx').on('users').expression(sql`email text_pattern_ops`),
          db.schema
            .createIndex('users_first_name_idx')
            .on('users')
            .expression(sql`lower(first_name) text_pattern_ops`),
          db.schema
            .createIndex('users_last_name_idx')
            .on('users')
            .expression(sql`lower(last_name) text_pattern_ops`),
        ]
      : [
          db.schema.createIndex('users_first_name_idx').on('users').expression(sql`lower(first_name)`),
          db.schema.createIndex('users_last_name_idx').on('users').expression(sql`lower(last_name)`),
        ]),
    db.schema.createIndex('users_status_idx').on('users').columns(['status', 'created_at']),
  ],
};
