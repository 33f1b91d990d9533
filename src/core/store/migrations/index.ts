import { m0001 } from './0001_initial.js';
import { m0002 } from './0002_organizations.js';
import { m0003 } from './0003_user_admin.js';
import { m0004 } from './0004_jobs.js';
import { m0005 } from './0005_mail.js';
import { m0006 } from './0006_one_time_tokens.js';
import { m0007 } from './0007_webhooks.js';
import { m0008 } from './0008_imports.js';
import { m0009 } from './0009_mfa.js';
import { m0010 } from './0010_passkeys.js';
import { m0011 } from './0011_compliance.js';
import { m0012 } from './0012_sso.js';
import type { Migration } from './types.js';

/** Append-only: never edit a released migration (its checksum is recorded); add the next version. */
export const MIGRATIONS: readonly Migration[] = [
  m0001,
  m0002,
  m0003,
  m0004,
  m0005,
  m0006,
  m0007,
  m0008,
  m0009,
  m0010,
  m0011,
  m0012,
];
