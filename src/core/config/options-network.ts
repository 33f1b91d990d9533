/**
 * Configuration options, one group of ./schema.ts OPTIONS: rate limits, Redis, proxies,
 * CORS and request bodies.
 */

import type { OptionSpec } from './schema.js';

export const NETWORK_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'rateLimitEnabled',
    env: 'RATE_LIMIT_ENABLED',
    type: 'bool',
    default: true,
    doc: 'Per-IP rate limiting.',
  },
  {
    key: 'rateLimitPerMinute',
    env: 'RATE_LIMIT_PER_MINUTE',
    type: 'int',
    default: 60,
    min: 1,
    doc: 'Requests per minute per IP.',
  },
  {
    key: 'rateLimitPerHour',
    env: 'RATE_LIMIT_PER_HOUR',
    type: 'int',
    default: 1000,
    min: 1,
    doc: 'Requests per hour per IP.',
  },
  {
    key: 'authRateLimitPerMinute',
    env: 'AUTH_RATE_LIMIT_PER_MINUTE',
    type: 'int',
    default: 10,
    min: 1,
    doc: 'Requests per minute per IP to credential endpoints (sign-up, sign-in, refresh).',
  },
  {
    key: 'rateLimitWhitelist',
    env: 'RATE_LIMIT_WHITELIST',
    type: 'list',
    default: [],
    doc: 'Comma-separated IPs or CIDR ranges exempt from rate limits.',
  },
  {
    key: 'redisUrl',
    env: 'REDIS_URL',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'Redis for rate-limit counters shared by several nodes (in memory when unset).',
  },
  {
    key: 'redisPrefix',
    env: 'REDIS_PREFIX',
    type: 'string',
    default: 'janua:',
    doc: 'Prefix of every Redis key Janua writes (to share one Redis between deployments).',
  },
  {
    key: 'trustProxy',
    env: 'TRUST_PROXY',
    type: 'bool',
    default: false,
    doc: 'Take the client IP from `X-Forwarded-For` (only behind a load balancer you control).',
  },
  {
    key: 'corsOrigins',
    env: 'CORS_ORIGINS',
    type: 'list',
    default: [],
    doc: 'Comma-separated origins allowed by CORS (none when empty).',
  },
  {
    key: 'bodyLimitBytes',
    env: 'BODY_LIMIT_BYTES',
    type: 'int',
    default: 1048576,
    min: 1024,
    doc: 'Largest request body accepted; larger ones get 413.',
  },
];
