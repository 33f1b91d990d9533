import { sql } from 'kysely';
import type { Migration } from './types.js';

/**
 * Webhooks: endpoints (subscriptions) and their deliveries.
 *
 * `webhook_endpoints`: one subscription, of an organization (`organization_id`; it receives that organization's
 * events and its admins manage it) or of the platform (null; every event, platform admins). `events` is a JSON
 * array of event types or patterns (`user.*`, `*`). The signing secret must be recoverable to sign, so it is
 * stored sealed under the master key (`secret_box`, purpose `webhook-secret`); after a rotation the previous
 * secret keeps signing beside the new one until `previous_secret_expires_at`. `status`: active | disabled
 * (`disabled_reason`: `failing` when the endpoint failed for WEBHOOK_DISABLE_AFTER_DAYS, `manual`).
 * `failing_since`: the first failure after the last success (what auto-disable measures), null when healthy.
 *
 * `webhook_deliveries`: one event for one endpoint. `body` is the exact JSON sent (every attempt and replay
 * sends the same bytes and the same event id, `event_id`, so receivers can dedupe). `status`: pending (not tried
 * yet) → succeeded | retrying (an attempt failed, another is scheduled at `next_attempt_at`) → failed (the
 * schedule is spent, or the endpoint was disabled or deleted). `replay_of`: the delivery a replay re-sends.
 */
export const m0007: Migration = {
  version: 7,
  name: 'webhooks',
  up: (db, t) => [
    db.schema
      .createTable('webhook_endpoints')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('organization_id', t.uuid, (c) => c.references('organizations.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('events', t.json, (c) => c.notNull())
      .addColumn('headers', t.json, (c) => c.notNull())
      .addColumn('secret_box', 'text', (c) => c.notNull())
      .addColumn('previous_secret_box', 'text')
      .addColumn('previous_secret_expires_at', t.ts)
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('disabled_at', t.ts)
      .addColumn('failing_since', t.ts)
      .addColumn('created_by', t.uuid)
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull()),
    db.schema
      .createIndex('webhook_endpoints_org_idx')
      .on('webhook_endpoints')
      .columns(['organization_id', 'created_at']),
    db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', t.uuid, (c) => c.primaryKey())
      .addColumn('endpoint_id', t.uuid, (c) =>
        c.notNull().references('webhook_endpoints.id').onDelete('cascade'),
      )
      .addColumn('event_id', t.uuid, (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('organization_id', t.uuid)
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('response_status', 'integer')
      .addColumn('response_body', 'text')
      .addColumn('latency_ms', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('next_attempt_at', t.ts)
      .addColumn('job_id', t.uuid)
      .addColumn('replay_of', t.uuid)
      .addColumn('event_created_at', t.ts, (c) => c.notNull())
      .addColumn('created_at', t.ts, (c) => c.notNull())
      .addColumn('updated_at', t.ts, (c) => c.notNull())
      .addColumn('delivered_at', t.ts),
    db.schema
      .createIndex('webhook_deliveries_endpoint_idx')
      .on('webhook_deliveries')
      .columns(['endpoint_id', 'created_at']),
    db.schema
      .createIndex('webhook_deliveries_status_idx')
      .on('webhook_deliveries')
      .columns(['status', 'created_at']),
    db.schema.createIndex('webhook_deliveries_event_idx').on('webhook_deliveries').column('event_id'),
    db.schema.createIndex('webhook_deliveries_created_idx').on('webhook_deliveries').column('created_at'),
    db.schema
      .createIndex('webhook_deliveries_replay_idx')
      .on('webhook_deliveries')
      .column('replay_of')
      .where(sql.ref('replay_of'), 'is not', null),
  ],
};
