/**
 * Webhook settings (issue 12): how deliveries are retried, bounded and kept, and which targets they may reach.
 * Spread into OPTIONS by ./schema.ts; kept here so the webhooks group is one module.
 */
import type { OptionSpec } from './schema.js';

export interface WebhooksConfig {
  webhookRetrySchedule: string[];
  webhookTimeoutSeconds: number;
  webhookConnectTimeoutSeconds: number;
  webhookMaxResponseBytes: number;
  webhookConcurrency: number;
  webhookConcurrencyPerEndpoint: number;
  webhookAllowPrivateTargets: boolean;
  webhookDisableAfterDays: number;
  webhookSecretGraceHours: number;
  webhookDeliveryRetentionDays: number;
  cronCleanupWebhooks: string;
}

export const WEBHOOK_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'webhookRetrySchedule',
    env: 'WEBHOOK_RETRY_SCHEDULE',
    type: 'list',
    default: ['5s', '5m', '30m', '2h', '5h', '10h', '10h'],
    doc: 'Delays before each retry of a failed delivery (the first attempt is immediate), as durations (`500ms`, `5s`, `5m`, `2h`, `1d`). After the last one the delivery is `failed`.',
  },
  {
    key: 'webhookTimeoutSeconds',
    env: 'WEBHOOK_TIMEOUT_SECONDS',
    type: 'int',
    default: 15,
    min: 1,
    max: 300,
    doc: 'An attempt succeeds when the endpoint answers 2xx within this many seconds (headers and body).',
  },
  {
    key: 'webhookConnectTimeoutSeconds',
    env: 'WEBHOOK_CONNECT_TIMEOUT_SECONDS',
    type: 'int',
    default: 5,
    min: 1,
    max: 60,
    doc: 'Most seconds to resolve and connect to an endpoint (TLS handshake included).',
  },
  {
    key: 'webhookMaxResponseBytes',
    env: 'WEBHOOK_MAX_RESPONSE_BYTES',
    type: 'int',
    default: 65536,
    min: 0,
    max: 16777216,
    doc: 'Most bytes of an endpoint’s answer read (the rest is discarded; the first 1 KiB is kept on the delivery).',
  },
  {
    key: 'webhookConcurrency',
    env: 'WEBHOOK_CONCURRENCY',
    type: 'int',
    default: 64,
    min: 1,
    max: 1024,
    doc: 'Deliveries in flight at once on one node.',
  },
  {
    key: 'webhookConcurrencyPerEndpoint',
    env: 'WEBHOOK_CONCURRENCY_PER_ENDPOINT',
    type: 'int',
    default: 8,
    min: 1,
    max: 256,
    doc: 'Deliveries in flight at once to one endpoint on one node: a slow endpoint never takes every slot.',
  },
  {
    key: 'webhookAllowPrivateTargets',
    env: 'WEBHOOK_ALLOW_PRIVATE_TARGETS',
    type: 'bool',
    default: false,
    doc: 'Allow endpoints on loopback, private, link-local and cloud metadata addresses (checked on the address connected to). For tests and local development.',
  },
  {
    key: 'webhookDisableAfterDays',
    env: 'WEBHOOK_DISABLE_AFTER_DAYS',
    type: 'int',
    default: 5,
    min: 1,
    max: 365,
    doc: 'An endpoint whose deliveries have all failed for this many days is disabled (a `webhook.endpoint.disabled` event says so).',
  },
  {
    key: 'webhookSecretGraceHours',
    env: 'WEBHOOK_SECRET_GRACE_HOURS',
    type: 'int',
    default: 24,
    min: 0,
    max: 720,
    doc: 'After a secret rotation, the old secret keeps signing beside the new one for this many hours.',
  },
  {
    key: 'webhookDeliveryRetentionDays',
    env: 'WEBHOOK_DELIVERY_RETENTION_DAYS',
    type: 'int',
    default: 30,
    min: 1,
    max: 3650,
    doc: 'Deliveries (with the bodies sent) are kept this many days, then deleted by `cleanup.webhooks`.',
  },
  {
    key: 'cronCleanupWebhooks',
    env: 'CRON_CLEANUP_WEBHOOKS',
    type: 'cron',
    default: '50 * * * *',
    doc: 'When `cleanup.webhooks` runs (deliveries past `WEBHOOK_DELIVERY_RETENTION_DAYS`): a cron expression in UTC, or `off`.',
  },
];
