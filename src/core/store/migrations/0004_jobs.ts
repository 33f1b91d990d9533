import { sql } from 'kysely';
import type { Migration } from './types.js';

/**
 * Background work: the durable job queue (`jobs`), the record of scheduled job runs (`cron_runs`), leases for
 * scheduled jobs on SQLite (`leases`; Postgres uses advisory locks), and the outbox's "handled" mark.
 *
 * `jobs.run_at` is the one time a claim looks at: when a pending or failed job is next due, and for a running job
 * when its lease expires (a claim moves it forward), so "claimable" is a single range scan of one partial index
 * whatever the state. The unique (kind, idempotency_key) index makes an idempotent enqueue a plain
 * ON CONFLICT DO NOTHING; NULL keys never collide (SQL's NULLs are distinct on both dialects). The last
 * indexes serve the cleanup jobs.
 */
export const m0004: Migration = {
  version: 4,
  name: 'jobs',
  up: (db, t) => [
    db.schema
      .createTable('jobs')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', t.json, (c) => c.notNull().defaultTo(sql`'{}'`))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('run_at', t.ts, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('idempotency_key', 'text')
      .addColumn('claim_id', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('finished_at', t.ts),
    db.schema.createIndex('jobs_idempotency_idx').on('jobs').columns(['kind', 'idempotency_key']).unique(),
    db.schema
      .createIndex('jobs_due_idx')
      .on('jobs')
      .columns(['kind', 'run_at'])
      .where(sql.ref('state'), 'in', ['pending', 'failed', 'running']),
    db.schema.createIndex('jobs_state_idx').on('jobs').columns(['state', 'updated_at']),
    db.schema
      .createTable('cron_runs')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('job', 'text', (c) => c.notNull())
      .addColumn('slot', t.ts)
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('rows_affected', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('started_at', t.ts, (c) => c.notNull())
      .addColumn('finished_at', t.ts),
    db.schema.createIndex('cron_runs_slot_idx').on('cron_runs').columns(['job', 'slot']).unique(),
    db.schema.createIndex('cron_runs_job_idx').on('cron_runs').columns(['job', 'started_at']),
    db.schema
      .createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', t.ts, (c) => c.notNull()),
    db.schema.alterTable('outbox').addColumn('handled_at', t.ts),
    db.schema
      .createIndex('outbox_unhandled_idx')
      .on('outbox')
      .column('seq')
      .where(sql.ref('handled_at'), 'is', null),
    db.schema.createIndex('outbox_handled_idx').on('outbox').column('handled_at'),
    // What the cleanup jobs delete by, so each bounded batch is an index range, not a table scan.
    db.schema
      .createIndex('sessions_revoked_idx')
      .on('sessions')
      .column('revoked_at')
      .where(sql.ref('revoked_at'), 'is not', null),
    db.schema.createIndex('refresh_tokens_expires_idx').on('refresh_tokens').column('expires_at'),
    db.schema.createIndex('sign_in_attempts_updated_idx').on('sign_in_attempts').column('updated_at'),
  ],
};
