/**
 * The one registry of scheduled jobs. Each has a name (what `janua cron run` takes), a schedule setting in the
 * config schema (a cron expression in UTC, or `off`) and a run function returning how many rows it changed.
 * Later areas (webhook retries, GDPR erasure, SAML metadata refresh) add their entries here.
 */
import type { JanuaConfig } from '../config/schema.js';
import type { Deps } from '../deps.js';
import { SYSTEM_CONTEXT } from '../events/events.js';
import { ensureKeys, JWKS_MAX_AGE_S, JWKS_STALE_S, listKeys, pruneKeys, rotateKeys } from '../keys/keys.js';
import { cleanupAttempts, cleanupAudit, cleanupJobs, cleanupOutbox, cleanupSessions } from './cleanup.js';

export type ScheduledDeps = Pick<Deps, 'store' | 'clock' | 'box' | 'config' | 'logger'>;

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
  {
    name: 'cleanup.sessions',
    description: 'Delete expired and long-revoked sessions and expired refresh tokens',
    scheduleKey: 'cronCleanupSessions',
    async run(deps, signal) {
      const n = await cleanupSessions(deps.store.db, deps.clock.now(), signal);
      return { rows: n, detail: `deleted ${n} sessions and refresh tokens` };
    },
  },
  {
    name: 'cleanup.attempts',
    description: 'Delete sign-in failure counters that no longer count',
    scheduleKey: 'cronCleanupAttempts',
    async run(deps, signal) {
      const windowMs = deps.config.lockoutMinutes * 60_000;
      const n = await cleanupAttempts(deps.store.db, deps.clock.now(), windowMs, signal);
      return { rows: n, detail: `deleted ${n} sign-in failure counters` };
    },
  },
  {
    name: 'cleanup.audit',
    description: 'Delete audit events older than AUDIT_RETENTION_DAYS',
    scheduleKey: 'cronCleanupAudit',
    async run(deps, signal) {
      const days = deps.config.auditRetentionDays;
      const n = await cleanupAudit(deps.store.db, deps.clock.now(), days, signal);
      return { rows: n, detail: `deleted ${n} audit events older than ${days} days` };
    },
  },
  {
    name: 'cleanup.outbox',
    description: 'Delete handled domain events older than OUTBOX_RETENTION_DAYS',
    scheduleKey: 'cronCleanupOutbox',
    async run(deps, signal) {
      const days = deps.config.outboxRetentionDays;
      const n = await cleanupOutbox(deps.store.db, deps.clock.now(), days, signal);
      return { rows: n, detail: `deleted ${n} handled events older than ${days} days` };
    },
  },
  {
    name: 'cleanup.jobs',
    description: 'Delete finished jobs and scheduled-run records past retention',
    scheduleKey: 'cronCleanupJobs',
    async run(deps, signal) {
      const n = await cleanupJobs(
        deps.store.db,
        deps.clock.now(),
        { finishedDays: deps.config.jobsRetentionDays, deadDays: deps.config.deadJobsRetentionDays },
        signal,
      );
      return { rows: n, detail: `deleted ${n} finished jobs and run records` };
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
