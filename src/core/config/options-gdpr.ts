/**
 * Settings of the compliance area (issue 15): the erasure grace period, how long an export's download link
 * lives, and the schedules of its jobs. Kept apart from schema.ts so the group merges on its own.
 */
import { cronOption } from './options-jobs.js';
import type { OptionSpec } from './schema.js';

export interface GdprConfig {
  gdprErasureGraceDays: number;
  gdprExportLinkHours: number;
  cronGdprEraseDue: string;
  cronCleanupExports: string;
}

export const GDPR_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'gdprErasureGraceDays',
    env: 'GDPR_ERASURE_GRACE_DAYS',
    type: 'int',
    default: 30,
    min: 0,
    max: 365,
    doc: 'Days between an erasure request and its execution by `gdpr.erase-due`; the user (or an admin) can cancel meanwhile. 0: the next run of the job.',
  },
  {
    key: 'gdprExportLinkHours',
    env: 'GDPR_EXPORT_LINK_HOURS',
    type: 'int',
    default: 24,
    min: 1,
    max: 720,
    doc: 'Hours a finished data export can be downloaded; the archive is deleted afterwards.',
  },
  cronOption(
    'cronGdprEraseDue',
    'CRON_GDPR_ERASE_DUE',
    'gdpr.erase-due',
    '41 * * * *',
    'executes erasure requests whose grace period is over',
  ),
  cronOption(
    'cronCleanupExports',
    'CRON_CLEANUP_EXPORTS',
    'cleanup.exports',
    '51 * * * *',
    'deletes data-export archives whose download link has expired',
  ),
];
