/**
 * Configuration options, one group of ./schema.ts OPTIONS: tokens and sessions (audience,
 * lifetimes, clock skew, the session cap), key-ring reload and maintenance-mode polling.
 */

import type { OptionSpec } from './schema.js';

export const TOKEN_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'jwtAudience',
    env: 'JWT_AUDIENCE',
    type: 'string',
    default: 'janua.dev',
    doc: '`aud` claim of access tokens.',
  },
  {
    key: 'accessTokenMinutes',
    env: 'JWT_ACCESS_TOKEN_EXPIRE_MINUTES',
    type: 'int',
    default: 480,
    min: 1,
    max: 525600,
    doc: 'Access-token lifetime in minutes.',
  },
  {
    key: 'clockSkewSeconds',
    env: 'JWT_CLOCK_SKEW_SECONDS',
    type: 'int',
    default: 120,
    min: 0,
    max: 600,
    doc: "Leeway for clocks that differ between nodes: an access token is accepted up to this long past its `exp`, and a retired signing key stays published longer by a multiple of it. Set it to the largest difference between any two nodes' clocks.",
  },
  {
    key: 'refreshTokenDays',
    env: 'JWT_REFRESH_TOKEN_EXPIRE_DAYS',
    type: 'int',
    default: 7,
    min: 1,
    max: 3650,
    doc: 'Refresh-token (and session) lifetime in days.',
  },
  {
    key: 'maxSessionsPerUser',
    env: 'MAX_SESSIONS_PER_USER',
    type: 'int',
    default: 5,
    min: 1,
    max: 1000,
    doc: 'Live sessions a user may hold; a new sign-in revokes the oldest beyond it.',
  },
  {
    key: 'keysReloadSeconds',
    env: 'JANUA_KEYS_RELOAD_SECONDS',
    type: 'int',
    default: 30,
    min: 1,
    max: 3600,
    doc: 'How often a running daemon reloads signing keys from the database (so a CLI rotation is picked up within this interval).',
  },
  {
    key: 'maintenanceRefreshSeconds',
    env: 'JANUA_MAINTENANCE_REFRESH_SECONDS',
    type: 'int',
    default: 2,
    min: 1,
    max: 60,
    doc: 'How often a node re-reads the maintenance-mode setting from the database: a toggle made on another node or by the CLI reaches it within this bound.',
  },
  {
    key: 'maintenanceRetryAfterSeconds',
    env: 'JANUA_MAINTENANCE_RETRY_AFTER_SECONDS',
    type: 'int',
    default: 60,
    min: 1,
    max: 86400,
    doc: '`Retry-After` sent with the 503 answers while maintenance mode is on.',
  },
];
