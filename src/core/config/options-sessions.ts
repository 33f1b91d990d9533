/**
 * Configuration options, one group of ./schema.ts OPTIONS: refresh-token rotation and self-service
 * sessions.
 */

import type { OptionSpec } from './schema.js';

export const SESSION_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'refreshReuseIntervalSeconds',
    env: 'REFRESH_REUSE_INTERVAL_SECONDS',
    type: 'int',
    default: 0,
    min: 0,
    max: 300,
    doc: 'Grace period for a just-spent refresh token (as Auth0 and Ory Hydra offer): presented again within this many seconds of its rotation (an app that refreshed twice at once), it gets a fresh pair for the same session instead of revoking the session; later, reuse still revokes it. `0` is strict: any reuse revokes.',
  },
];
