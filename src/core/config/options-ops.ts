/**
 * Configuration options, one group of ./schema.ts OPTIONS: logging, metrics and the first
 * administrator.
 */

import type { OptionSpec } from './schema.js';

export const OPS_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'logLevel',
    env: 'LOG_LEVEL',
    flag: 'log-level',
    type: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Log level. `janua serve` logs to stdout, one access line per request at `info`; operator commands log to stderr.',
  },
  {
    key: 'logFormat',
    env: 'LOG_FORMAT',
    flag: 'log-format',
    type: 'enum',
    default: 'auto',
    values: ['auto', 'json', 'pretty'],
    doc: '`json`: one JSON object per line (for log collectors); `pretty`: one readable line per event; `auto`: pretty on a terminal, JSON otherwise.',
  },
  {
    key: 'metricsEnabled',
    env: 'METRICS_ENABLED',
    type: 'bool',
    default: true,
    doc: 'Serve Prometheus metrics at `GET /metrics` (and count HTTP requests for them).',
  },
  {
    key: 'metricsToken',
    env: 'METRICS_TOKEN',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'When set, `GET /metrics` requires `Authorization: Bearer <token>`. Without it the endpoint is open: keep it on an internal network.',
  },
  {
    key: 'adminBootstrapEmail',
    env: 'ADMIN_BOOTSTRAP_EMAIL',
    type: 'string',
    default: undefined,
    doc: 'At start, create this platform admin if no user has that email.',
  },
  {
    key: 'adminBootstrapPassword',
    env: 'ADMIN_BOOTSTRAP_PASSWORD',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'Password of the bootstrap admin.',
  },
];
