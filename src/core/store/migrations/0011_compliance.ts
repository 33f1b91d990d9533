import { sql } from 'kysely';
import type { Migration } from './types.js';

/**
 * Compliance (issue 15): GDPR requests, export archives, deletion receipts and consent records.
 * - `gdpr_requests`: one row per export or erasure request. `user_id` has no foreign key on purpose: the row
 *   outlives the user (an executed erasure keeps its request, with `user_id` replaced by the user's pseudonym).
 *   A partial unique index allows one open (pending or running) request per user and kind, so a second request
 *   is refused by the database itself, on every node. `due_at` is when an erasure runs (the grace period);
 *   `expires_at` is when an export's download link stops working.
 * - `gdpr_exports`: the finished archive of an export request (base64 text, so one column type serves both
 *   databases; archives are a user's data, kilobytes to a few megabytes), with its SHA-256. Deleted at expiry.
 * - `deletion_receipts`: what an erasure did (rows per provider), when and by whom. `subject` is the erased
 *   user's pseudonym (a keyed hash, see gdpr/pseudonym.ts); the receipt holds no personal data.
 * - `consent_records`: append-only consent history (purpose, granted or withdrawn, legal basis, version,
 *   source). No foreign key either: erasure keeps the history under the pseudonym (Art. 7(1) GDPR: the
 *   controller must be able to show consent was given) and clears the ip and user agent.
 */
export const m0011: Migration = {
  version: 11,
  name: 'compliance',
  up: (db, t) => [
    db.schema
      .createTable('gdpr_requests')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('user_id', t.uuid, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('requested_by', t.uuid)
      .addColumn('requested_by_type', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('format', 'text')
      .addColumn('due_at', t.ts)
      .addColumn('expires_at', t.ts)
      .addColumn('job_id', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('completed_at', t.ts)
      .addColumn('cancelled_at', t.ts),
    db.schema
      .createIndex('gdpr_requests_open_uq')
      .on('gdpr_requests')
      .columns(['user_id', 'kind'])
      .unique()
      .where(sql.ref('status'), 'in', sql`('pending', 'running')`),
    db.schema.createIndex('gdpr_requests_user_idx').on('gdpr_requests').columns(['user_id', 'created_at']),
    db.schema.createIndex('gdpr_requests_due_idx').on('gdpr_requests').columns(['kind', 'status', 'due_at']),
    db.schema
      .createTable('gdpr_exports')
      .addColumn('request_id', t.uuid, (c) =>
        c.primaryKey().references('gdpr_requests.id').onDelete('cascade'),
      )
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('file_name', 'text', (c) => c.notNull())
      .addColumn('archive', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('size_bytes', 'integer', (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull()),
    db.schema.createIndex('gdpr_exports_expires_idx').on('gdpr_exports').column('expires_at'),
    db.schema
      .createTable('deletion_receipts')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('request_id', t.uuid)
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('requested_at', t.ts)
      .addColumn('requested_by_type', 'text')
      .addColumn('executed_by', t.uuid)
      .addColumn('executed_by_type', 'text', (c) => c.notNull())
      .addColumn('steps', t.json, (c) => c.notNull())
      .addColumn('executed_at', t.ts, (c) => c.notNull()),
    db.schema.createIndex('deletion_receipts_subject_idx').on('deletion_receipts').column('subject'),
    db.schema
      .createTable('consent_records')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('granted', t.bool, (c) => c.notNull())
      .addColumn('legal_basis', 'text', (c) => c.notNull())
      .addColumn('version', 'text')
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('recorded_at', t.ts, (c) => c.notNull()),
    db.schema
      .createIndex('consent_records_user_idx')
      .on('consent_records')
      .columns(['user_id', 'purpose', 'recorded_at']),
  ],
};
