/**
 * Configuration options, one group of ./schema.ts OPTIONS: background work (the scheduler,
 * retention, the job workers and the scheduled jobs' cron expressions).
 */

import type { JanuaConfig, OptionSpec } from './schema.js';

/** A scheduled job's schedule setting: a node-cron expression (UTC), or `off`. */
export function cronOption(
  key: keyof JanuaConfig,
  env: string,
  job: string,
  schedule: string,
  what: string,
): OptionSpec {
  return {
    key,
    env,
    type: 'cron',
    default: schedule,
    doc: `When \`${job}\` runs (${what}): a cron expression in UTC, or \`off\`.`,
  };
}

export const JOB_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'scheduler',
    env: 'JANUA_SCHEDULER',
    flag: 'scheduler',
    type: 'bool',
    default: true,
    doc: '`janua serve` runs the scheduled jobs in-process (`--no-scheduler` leaves them to `janua cron` or system cron). Every node may run it: a due job runs once across nodes.',
  },
  {
    key: 'keyRotationDays',
    env: 'JWT_KEY_ROTATION_DAYS',
    type: 'int',
    default: 30,
    min: 1,
    max: 3650,
    doc: '`keys.rotate` rotates the signing key once the active key is this many days old.',
  },
  {
    key: 'auditRetentionDays',
    env: 'AUDIT_RETENTION_DAYS',
    type: 'int',
    default: 365,
    min: 1,
    max: 36500,
    doc: '`cleanup.audit` deletes audit events older than this.',
  },
  {
    key: 'outboxRetentionDays',
    env: 'OUTBOX_RETENTION_DAYS',
    type: 'int',
    default: 7,
    min: 1,
    max: 3650,
    doc: '`cleanup.outbox` deletes domain events handled longer ago than this.',
  },
  {
    key: 'jobsRetentionDays',
    env: 'JOBS_RETENTION_DAYS',
    type: 'int',
    default: 7,
    min: 1,
    max: 3650,
    doc: '`cleanup.jobs` deletes succeeded and cancelled jobs, and scheduled-job run records, older than this.',
  },
  {
    key: 'deadJobsRetentionDays',
    env: 'JOBS_DEAD_RETENTION_DAYS',
    type: 'int',
    default: 30,
    min: 1,
    max: 3650,
    doc: '`cleanup.jobs` deletes dead jobs (attempts exhausted) older than this.',
  },
  {
    key: 'jobsPollMs',
    env: 'JOBS_POLL_INTERVAL_MS',
    type: 'int',
    default: 1000,
    min: 50,
    max: 60000,
    doc: 'How often idle job workers look for due jobs (enqueues on the same node, and on any node with Postgres, wake them at once).',
  },
  {
    key: 'shutdownGraceSeconds',
    env: 'JANUA_SHUTDOWN_GRACE_SECONDS',
    type: 'int',
    default: 10,
    min: 0,
    max: 3600,
    doc: 'On SIGTERM, how long running jobs may finish before they are given back to the queue for another node.',
  },
  cronOption(
    'cronKeysRotate',
    'CRON_KEYS_ROTATE',
    'keys.rotate',
    '17 * * * *',
    'hourly check; rotates when the key is due',
  ),
  cronOption(
    'cronKeysPrune',
    'CRON_KEYS_PRUNE',
    'keys.prune',
    '27 * * * *',
    'removes retired keys whose tokens expired',
  ),
  cronOption(
    'cronCleanupSessions',
    'CRON_CLEANUP_SESSIONS',
    'cleanup.sessions',
    '*/15 * * * *',
    'expired and revoked sessions, expired refresh tokens and email-flow links',
  ),
  cronOption(
    'cronCleanupAttempts',
    'CRON_CLEANUP_ATTEMPTS',
    'cleanup.attempts',
    '*/10 * * * *',
    'old sign-in failure counters',
  ),
  cronOption(
    'cronCleanupAudit',
    'CRON_CLEANUP_AUDIT',
    'cleanup.audit',
    '30 3 * * *',
    'audit events past `AUDIT_RETENTION_DAYS`',
  ),
  cronOption(
    'cronCleanupOutbox',
    'CRON_CLEANUP_OUTBOX',
    'cleanup.outbox',
    '45 * * * *',
    'handled domain events past `OUTBOX_RETENTION_DAYS`',
  ),
  cronOption(
    'cronCleanupJobs',
    'CRON_CLEANUP_JOBS',
    'cleanup.jobs',
    '50 * * * *',
    'finished jobs and run records past retention',
  ),
];
