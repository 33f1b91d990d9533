/**
 * The one schema for every setting. Each option has a config-file key, an environment variable and
 * (for the ones an operator sets per run) a command-line flag. README's configuration table is generated
 * from this list (`npm run docs:config`) and a test keeps the two equal.
 *
 * Precedence, highest first: command-line flag > environment variable > config file > default.
 */

import { FLOWS_OPTIONS, type FlowsConfig } from './options-flows.js';
import { MAIL_OPTIONS, type MailConfig } from './options-mail.js';

export type OptionType = 'string' | 'int' | 'bool' | 'list' | 'enum' | 'cron';

export interface OptionSpec {
  /** Key in the config file (JSON or YAML) and in the typed config object. */
  readonly key: keyof JanuaConfig;
  readonly env: string;
  /** Long flag without dashes, where one exists (e.g. `port` → `--port`). */
  readonly flag?: string;
  readonly type: OptionType;
  /** Literal default, or a description of a derived one (shown in docs) with `derived: true`. */
  readonly default: string | number | boolean | readonly string[] | undefined;
  readonly derivedDefault?: string;
  readonly doc: string;
  readonly secret?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
}

export interface JanuaConfig extends MailConfig, FlowsConfig {
  host: string;
  port: number;
  baseUrl: string;
  dataDir: string;
  databaseUrl: string;
  migrateOnStart: boolean;
  masterKey: string | undefined;
  masterKeyFile: string | undefined;
  jwtAudience: string;
  accessTokenMinutes: number;
  clockSkewSeconds: number;
  refreshTokenDays: number;
  maxSessionsPerUser: number;
  keysReloadSeconds: number;
  maintenanceRefreshSeconds: number;
  maintenanceRetryAfterSeconds: number;
  bcryptRounds: number;
  passwordHashConcurrency: number;
  passwordHashMaxWaitMs: number;
  passwordHashShedDelayMs: number;
  passwordMinLength: number;
  passwordRequireUppercase: boolean;
  passwordRequireLowercase: boolean;
  passwordRequireDigit: boolean;
  passwordRequireSymbol: boolean;
  lockoutMaxAttempts: number;
  lockoutMinutes: number;
  rateLimitEnabled: boolean;
  rateLimitPerMinute: number;
  rateLimitPerHour: number;
  authRateLimitPerMinute: number;
  rateLimitWhitelist: string[];
  redisUrl: string | undefined;
  redisPrefix: string;
  trustProxy: boolean;
  corsOrigins: string[];
  bodyLimitBytes: number;
  logLevel: string;
  logFormat: 'auto' | 'json' | 'pretty';
  metricsEnabled: boolean;
  metricsToken: string | undefined;
  adminBootstrapEmail: string | undefined;
  adminBootstrapPassword: string | undefined;
  scheduler: boolean;
  keyRotationDays: number;
  auditRetentionDays: number;
  outboxRetentionDays: number;
  jobsRetentionDays: number;
  deadJobsRetentionDays: number;
  jobsPollMs: number;
  shutdownGraceSeconds: number;
  cronKeysRotate: string;
  cronKeysPrune: string;
  cronCleanupSessions: string;
  cronCleanupAttempts: string;
  cronCleanupAudit: string;
  cronCleanupOutbox: string;
  cronCleanupJobs: string;
}

/** A scheduled job's schedule setting: a node-cron expression (UTC), or `off`. */
function cronOption(
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

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'host',
    env: 'JANUA_HOST',
    flag: 'host',
    type: 'string',
    default: '127.0.0.1',
    doc: 'Address `janua serve` listens on.',
  },
  {
    key: 'port',
    env: 'PORT',
    flag: 'port',
    type: 'int',
    default: 8000,
    min: 0,
    max: 65535,
    doc: 'TCP port `janua serve` listens on (0 picks a free one).',
  },
  {
    key: 'baseUrl',
    env: 'JANUA_BASE_URL',
    flag: 'base-url',
    type: 'string',
    default: undefined,
    derivedDefault: '`http://HOST:PORT`',
    doc: 'Public URL of this service; the `iss` claim of every token.',
  },
  {
    key: 'dataDir',
    env: 'JANUA_DATA_DIR',
    flag: 'data-dir',
    type: 'string',
    default: undefined,
    derivedDefault: '`$XDG_DATA_HOME/janua` or `~/.local/share/janua`',
    doc: 'Directory for the embedded SQLite database and the generated master key; created if missing.',
  },
  {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    flag: 'database-url',
    type: 'string',
    default: undefined,
    derivedDefault: '`sqlite:DATA_DIR/janua.db`',
    doc: '`sqlite:PATH`, `sqlite:///ABS/PATH` or `postgres://USER:PASS@HOST:PORT/DB`.',
  },
  {
    key: 'migrateOnStart',
    env: 'JANUA_MIGRATE_ON_START',
    flag: 'migrate',
    type: 'bool',
    default: true,
    doc: '`janua serve` applies pending schema migrations at start (`--no-migrate` refuses and exits if any are pending).',
  },
  {
    key: 'masterKey',
    env: 'JANUA_MASTER_KEY',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'Master key (base64, 32 bytes) that encrypts signing keys and other secrets at rest.',
  },
  {
    key: 'masterKeyFile',
    env: 'JANUA_MASTER_KEY_FILE',
    flag: 'master-key-file',
    type: 'string',
    default: undefined,
    derivedDefault: '`DATA_DIR/master.key`, generated on first start',
    doc: 'File holding the master key. Used when `JANUA_MASTER_KEY` is unset.',
  },
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
  {
    key: 'bcryptRounds',
    env: 'BCRYPT_ROUNDS',
    type: 'int',
    default: 12,
    min: 4,
    max: 15,
    doc: 'bcrypt cost factor for new password hashes.',
  },
  {
    key: 'passwordHashConcurrency',
    env: 'PASSWORD_HASH_CONCURRENCY',
    type: 'int',
    default: undefined,
    derivedDefault: 'number of CPU cores',
    min: 1,
    max: 256,
    doc: 'Password hashes computed at once (off the event loop).',
  },
  {
    key: 'passwordHashMaxWaitMs',
    env: 'PASSWORD_HASH_MAX_WAIT_MS',
    type: 'int',
    default: 500,
    min: 0,
    max: 60000,
    doc: 'Estimated queue wait above which a password request is shed with 503 and `Retry-After` instead of queued.',
  },
  {
    key: 'passwordHashShedDelayMs',
    env: 'PASSWORD_HASH_SHED_DELAY_MS',
    type: 'int',
    default: 250,
    min: 0,
    max: 5000,
    doc: 'How long a shed password request (503) is held before it is answered, so clients that retry at once without honouring `Retry-After` cannot take the CPU the hashes need (0: answer at once).',
  },
  {
    key: 'passwordMinLength',
    env: 'PASSWORD_MIN_LENGTH',
    type: 'int',
    default: 12,
    min: 8,
    max: 72,
    doc: 'Minimum password length.',
  },
  {
    key: 'passwordRequireUppercase',
    env: 'PASSWORD_REQUIRE_UPPERCASE',
    type: 'bool',
    default: true,
    doc: 'Passwords need an uppercase letter.',
  },
  {
    key: 'passwordRequireLowercase',
    env: 'PASSWORD_REQUIRE_LOWERCASE',
    type: 'bool',
    default: true,
    doc: 'Passwords need a lowercase letter.',
  },
  {
    key: 'passwordRequireDigit',
    env: 'PASSWORD_REQUIRE_DIGIT',
    type: 'bool',
    default: true,
    doc: 'Passwords need a digit.',
  },
  {
    key: 'passwordRequireSymbol',
    env: 'PASSWORD_REQUIRE_SYMBOL',
    type: 'bool',
    default: true,
    doc: 'Passwords need a character that is not a letter or digit.',
  },
  {
    key: 'lockoutMaxAttempts',
    env: 'LOCKOUT_MAX_ATTEMPTS',
    type: 'int',
    default: 5,
    min: 1,
    max: 1000,
    doc: 'Failed sign-ins for one email before it is locked.',
  },
  {
    key: 'lockoutMinutes',
    env: 'LOCKOUT_DURATION_MINUTES',
    type: 'int',
    default: 15,
    min: 1,
    max: 10080,
    doc: 'How long a lockout lasts.',
  },
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
  ...MAIL_OPTIONS,
  ...FLOWS_OPTIONS,
];
