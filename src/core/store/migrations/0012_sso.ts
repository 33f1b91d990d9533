import type { Migration } from './types.js';

/**
 * SAML single sign-on per organization (issue 16), and the one-time codes every browser sign-in that leaves
 * the app comes back with.
 * - `sso_connections`: an organization's IdP (entity id, SSO URL, its signing certificates — several while it
 *   rolls a certificate over — and where its metadata came from) and our SP side of it: a key pair per
 *   connection, the private half sealed with the master key (`sp_key_box`; the previous pair stays until its
 *   certificate is no longer published, so a rotation does not break encrypted assertions in flight).
 * - `sso_domains`: email domains an organization claims for discovery (`/sso/initiate?email=`). Only a
 *   verified domain routes anyone; a domain belongs to one organization (primary key).
 * - `sso_requests`: each AuthnRequest we sent (its ID), bound to the browser that started it (SHA-256 of a
 *   cookie value) and to the app's redirect URI; `relay_state` is the opaque handle sent
 *   along (SAML bindings §3.4.3), by which the shared ACS finds the connection; spent by the response that answers it (SAML profiles
 *   §4.1.4.3: InResponseTo must match a request we made).
 * - `saml_assertion_ids`: the replay cache, shared by every node (SAML profiles §4.1.4.5): an assertion id is
 *   inserted once (primary key); kept until the assertion could no longer be accepted anyway.
 * - `auth_codes`: one-time codes (SHA-256 only) an app exchanges at `POST /api/v1/auth/exchange` for tokens:
 *   single use, short-lived, bound to the redirect URI they were sent to.
 */
export const m0012: Migration = {
  version: 12,
  name: 'sso',
  up: (db, t) => [
    db.schema
      .createTable('sso_connections')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('organization_id', t.uuid, (c) =>
        c.notNull().references('organizations.id').onDelete('cascade'),
      )
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('enabled', t.bool, (c) => c.notNull())
      .addColumn('idp_entity_id', 'text', (c) => c.notNull())
      .addColumn('idp_sso_url', 'text', (c) => c.notNull())
      .addColumn('idp_certificates', t.json, (c) => c.notNull())
      .addColumn('idp_wants_signed_requests', t.bool, (c) => c.notNull())
      .addColumn('metadata_url', 'text')
      .addColumn('metadata_xml', 'text')
      .addColumn('metadata_refreshed_at', t.ts)
      .addColumn('metadata_error', 'text')
      .addColumn('sp_key_box', 'text', (c) => c.notNull())
      .addColumn('sp_certificate', 'text', (c) => c.notNull())
      .addColumn('sp_previous_key_box', 'text')
      .addColumn('sp_previous_certificate', 'text')
      .addColumn('sp_key_rotated_at', t.ts)
      .addColumn('attribute_mapping', t.json, (c) => c.notNull())
      .addColumn('group_roles', t.json, (c) => c.notNull())
      .addColumn('default_role', 'text', (c) => c.notNull())
      .addColumn('jit_provisioning', t.bool, (c) => c.notNull())
      .addColumn('allow_idp_initiated', t.bool, (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull()),
    db.schema.createIndex('sso_connections_org_idx').on('sso_connections').column('organization_id'),
    db.schema
      .createTable('sso_domains')
      .addColumn('domain', 'text', (c) => c.primaryKey())
      .addColumn('organization_id', t.uuid, (c) =>
        c.notNull().references('organizations.id').onDelete('cascade'),
      )
      .addColumn('verification_token', 'text', (c) => c.notNull())
      .addColumn('verified_at', t.ts)
      .addColumn('created_at', t.ts, (c) => c.notNull()),
    db.schema.createIndex('sso_domains_org_idx').on('sso_domains').column('organization_id'),
    db.schema
      .createTable('sso_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('connection_id', t.uuid, (c) =>
        c.notNull().references('sso_connections.id').onDelete('cascade'),
      )
      .addColumn('relay_state', 'text', (c) => c.notNull().unique())
      .addColumn('browser_hash', 'text', (c) => c.notNull())
      .addColumn('redirect_uri', 'text')
      .addColumn('app_state', 'text')
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('consumed_at', t.ts),
    db.schema.createIndex('sso_requests_expires_idx').on('sso_requests').column('expires_at'),
    db.schema
      .createTable('saml_assertion_ids')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('assertion_id', 'text', (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addPrimaryKeyConstraint('saml_assertion_ids_pk', ['issuer', 'assertion_id']),
    db.schema.createIndex('saml_assertion_ids_expires_idx').on('saml_assertion_ids').column('expires_at'),
    db.schema
      .createTable('auth_codes')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('code_hash', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', t.uuid, (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('details', t.json, (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull())
      .addColumn('consumed_at', t.ts),
    db.schema.createIndex('auth_codes_expires_idx').on('auth_codes').column('expires_at'),
    db.schema.createIndex('auth_codes_user_idx').on('auth_codes').column('user_id'),
  ],
};
