import { sql } from 'kysely';
import type { Migration } from './types.js';

/**
 * Outgoing mail (`mail_messages`): every message the flows send, rendered when it is enqueued (in the same
 * transaction as the token it carries) and sent by a `mail.send` job. The rendered bodies are kept so an operator
 * can read a message (`janua mail show`, the no-SMTP mode) and resend it; they hold one-time links, so
 * `cleanup.mail` deletes messages past `MAIL_RETENTION_DAYS`, and a user's messages go with the user.
 *
 * `status`: queued (not tried yet) → sent | retrying (an attempt failed, the job retries) → failed (gave up);
 * kept when no SMTP server is configured. `resends` counts operator resends (it is part of the Message-ID, so a
 * job's retries share one Message-ID and a deliberate resend does not look like a duplicate).
 */
export const m0005: Migration = {
  version: 5,
  name: 'mail',
  up: (db, t) => [
    db.schema
      .createTable('mail_messages')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('user_id', t.uuid, (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('to_address', 'text', (c) => c.notNull())
      .addColumn('from_address', 'text', (c) => c.notNull())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('text_body', 'text', (c) => c.notNull())
      .addColumn('html_body', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('resends', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('job_id', t.uuid)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('sent_at', t.ts),
    db.schema.createIndex('mail_messages_to_idx').on('mail_messages').columns(['to_address', 'created_at']),
    db.schema.createIndex('mail_messages_status_idx').on('mail_messages').columns(['status', 'updated_at']),
    db.schema.createIndex('mail_messages_created_idx').on('mail_messages').column('created_at'),
    db.schema
      .createIndex('mail_messages_user_idx')
      .on('mail_messages')
      .column('user_id')
      .where(sql.ref('user_id'), 'is not', null),
  ],
};
