/**
 * The one registry of scheduled jobs. Each has a name (what `janua cron run` takes), a schedule setting in the
 * config schema (a cron expression in UTC, or `off`) and a run function returning how many rows it changed.
 * Later areas (webhook retries, GDPR erasure, SAML metadata refresh) add their entries here.
 */
import type { JanuaConfig } from '../config/schema.js';
import type { Deps } from '../deps.js';
import { SYSTEM_CONTEXT } from '../events/events.js';
import { eraseDue } from '../gdpr/erasure-requests.js';
import { cleanupExports } from '../gdpr/exports.js';
import { ensureKeys, JWKS_MAX_AGE_S, JWKS_STALE_S, listKeys, pruneKeys, rotateKeys } from '../keys/keys.js';
import { cleanupMail } from '../mail/service.js';
import { refreshAllMetadata } from '../sso/metadata.js';
import {
  cleanupAttempts,
  cleanupAudit,
  cleanupJobs,
  cleanupOutbox,
  cleanupSessions,
  cleanupWebhookDeliveries,
} from './cleanup.js';

export type ScheduledDeps = Pick<Deps, 'store' | 'clock' | 'box' | 'config' | 'logger' | 'peppers'>;

export interface RunResult {
  /** Rows created, changed or deleted. */
  rows: number;
  /** One line on what happened (shown by `janua cron run` and logged). */
  detail: string;
}

export interface ScheduledJob {
  name: string;
  description: string;
  /** The config key holding its schedule. */
  scheduleKey: keyof JanuaConfig;
  run(deps: ScheduledDeps, signal: AbortSignal): Promise<RunResult>;
}

const DAY_MS = 86_400_000;

/**
 * Rotates once the active key is `JWT_KEY_ROTATION_DAYS` old, and only when the `next` key has been in the
 * JWK Set for a whole cache lifetime (max-age + stale-while-revalidate): every verifier that caches the set has
 * seen the new key before the first token it signs.
 */
async function rotateIfDue(deps: ScheduledDeps): Promise<RunResult> {
  const now = deps.clock.now();
  const keys = await listKeys(deps);
  const active = keys.find((k) => k.state === 'active');
  const next = keys.find((k) => k.state === 'next');
  if (!active || !next) {
    const created = await ensureKeys(deps);
    return {
      rows: created ? 1 : 0,
      detail: created ? 'created the missing active/next key' : 'keys in place',
    };
  }
  const since = active.activatedAt ?? active.createdAt;
  const dueAt = since.getTime() + deps.config.keyRotationDays * DAY_MS;
  if (now.getTime() < dueAt)
    return { rows: 0, detail: `active key ${active.kid} is not due until ${new Date(dueAt).toISOString()}` };
  const publishedMs = now.getTime() - next.createdAt.getTime();
  const needMs = (JWKS_MAX_AGE_S + JWKS_STALE_S) * 1000;
  if (publishedMs < needMs)
    return {
      rows: 0,
      detail: `next key ${next.kid} published ${Math.floor(publishedMs / 1000)} s ago; it signs only after ${needMs / 1000} s`,
    };
  const r = await rotateKeys(deps, SYSTEM_CONTEXT);
  return { rows: 1 + r.retired.length, detail: `rotated: ${r.activated} active, ${r.next} next` };
}

/** A cleanup job: deletes what `remove` picks as of now, and says how many of `what` went. */
function cleanup(
  name: string,
  scheduleKey: keyof JanuaConfig,
  description: string,
  remove: (deps: ScheduledDeps, now: Date, signal: AbortSignal) => Promise<number>,
  what: (deps: ScheduledDeps) => string,
): ScheduledJob {
  return {
    name,
    description,
    scheduleKey,
    async run(deps, signal) {
      const n = await remove(deps, deps.clock.now(), signal);
      return { rows: n, detail: `deleted ${n} ${what(deps)}` };
    },
  };
}

export const SCHEDULED_JOBS: readonly ScheduledJob[] = [
  {
    name: 'keys.rotate',
    description: 'Rotate the signing key when the active one is JWT_KEY_ROTATION_DAYS old',
    scheduleKey: 'cronKeysRotate',
    run: (deps) => rotateIfDue(deps),
  },
  {
    name: 'keys.prune',
    description: 'Remove retired signing keys whose every token has expired',
    scheduleKey: 'cronKeysPrune',
    async run(deps) {
      const removed = await pruneKeys(deps, SYSTEM_CONTEXT);
      return {
        rows: removed.length,
        detail: removed.length ? `removed ${removed.join(', ')}` : 'nothing to prune',
      };
    },
  },
  cleanup(
    'cleanup.sessions',
    'cronCleanupSessions',
    'Delete expired and long-revoked sessions and expired refresh tokens',
    (d, now, signal) => cleanupSessions(d.store.db, now, signal),
    () => 'sessions and refresh tokens',
  ),
  cleanup(
    'cleanup.attempts',
    'cronCleanupAttempts',
    'Delete sign-in failure counters that no longer count',
    (d, now, signal) => cleanupAttempts(d.store.db, now, d.config.lockoutMinutes * 60_000, signal),
    () => 'sign-in failure counters',
  ),
  cleanup(
    'cleanup.audit',
    'cronCleanupAudit',
    'Delete audit events older than AUDIT_RETENTION_DAYS',
    (d, now, signal) => cleanupAudit(d.store.db, now, d.config.auditRetentionDays, signal),
    (d) => `audit events older than ${d.config.auditRetentionDays} days`,
  ),
  cleanup(
    'cleanup.outbox',
    'cronCleanupOutbox',
    'Delete handled domain events older than OUTBOX_RETENTION_DAYS',
    (d, now, signal) => cleanupOutbox(d.store.db, now, d.config.outboxRetentionDays, signal),
    (d) => `handled events older than ${d.config.outboxRetentionDays} days`,
  ),
  cleanup(
    'cleanup.jobs',
    'cronCleanupJobs',
    'Delete finished jobs and scheduled-run records past retention',
    (d, now, signal) =>
      cleanupJobs(
        d.store.db,
        now,
        { finishedDays: d.config.jobsRetentionDays, deadDays: d.config.deadJobsRetentionDays },
        signal,
      ),
    () => 'finished jobs and run records',
  ),
  cleanup(
    'cleanup.mail',
    'cronCleanupMail',
    'Delete mail messages older than MAIL_RETENTION_DAYS (their bodies hold one-time links)',
    (d, now, signal) => cleanupMail(d.store.db, now, d.config.mailRetentionDays, signal),
    (d) => `mail messages older than ${d.config.mailRetentionDays} days`,
  ),
  cleanup(
    'cleanup.webhooks',
    'cronCleanupWebhooks',
    'Delete webhook deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS',
    (d, now, signal) =>
      cleanupWebhookDeliveries(d.store.db, now, d.config.webhookDeliveryRetentionDays, signal),
    (d) => `webhook deliveries older than ${d.config.webhookDeliveryRetentionDays} days`,
  ),
  cleanup(
    'cleanup.exports',
    'cronCleanupExports',
    'Delete data-export archives whose download link (GDPR_EXPORT_LINK_HOURS) has expired',
    (d, now, signal) => cleanupExports(d.store.db, now, signal),
    () => 'expired data-export archives',
  ),
  {
    name: 'gdpr.erase-due',
    description: 'Execute erasure requests whose GDPR_ERASURE_GRACE_DAYS grace period is over',
    scheduleKey: 'cronGdprEraseDue',
    async run(deps, signal) {
      const { erased, blocked } = await eraseDue(deps, SYSTEM_CONTEXT, signal);
      return {
        rows: erased,
        detail:
          erased || blocked
            ? `erased ${erased} account(s)${blocked ? `; ${blocked} blocked (see janua gdpr requests)` : ''}`
            : 'no erasure due',
      };
    },
  },
  {
    name: 'sso.metadata-refresh',
    description: 'Fetch the IdP metadata of SSO connections configured by URL again (certificate roll-over)',
    scheduleKey: 'cronSsoMetadataRefresh',
    async run(deps, signal) {
      const r = await refreshAllMetadata(deps, signal);
      return { rows: r.refreshed, detail: `refreshed ${r.refreshed} connection(s), ${r.failed} failed` };
    },
  },
];

export function findScheduledJob(name: string): ScheduledJob | undefined {
  return SCHEDULED_JOBS.find((j) => j.name === name);
}

/** A job's schedule from the config: the cron expression, or null when it is turned off. */
export function scheduleOf(config: JanuaConfig, job: ScheduledJob): string | null {
  const value = String(config[job.scheduleKey]);
  return value === 'off' ? null : value;
}
