/**
 * The one schema for every setting. Each option has a config-file key, an environment variable and
 * (for the ones an operator sets per run) a command-line flag. README's configuration table is generated
 * from this list (`npm run docs:config`) and a test keeps the two equal.
 *
 * Precedence, highest first: command-line flag > environment variable > config file > default.
 */

import { FLOWS_OPTIONS, type FlowsConfig } from './options-flows.js';
import { GDPR_OPTIONS, type GdprConfig } from './options-gdpr.js';
import { JOB_OPTIONS } from './options-jobs.js';
import { MAIL_OPTIONS, type MailConfig } from './options-mail.js';
import { MFA_OPTIONS, type MfaConfig } from './options-mfa.js';
import { MIGRATE_OPTIONS, type MigrateConfig } from './options-migrate.js';
import { NETWORK_OPTIONS } from './options-network.js';
import { OPS_OPTIONS } from './options-ops.js';
import { PASSWORD_OPTIONS } from './options-passwords.js';
import { SERVER_OPTIONS } from './options-server.js';
import { SESSION_OPTIONS } from './options-sessions.js';
import { SSO_OPTIONS, type SsoConfig } from './options-sso.js';
import { TOKEN_OPTIONS } from './options-tokens.js';
import { WEBAUTHN_OPTIONS, type WebauthnConfig } from './options-webauthn.js';
import { WEBHOOK_OPTIONS, type WebhooksConfig } from './options-webhooks.js';

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

export interface JanuaConfig
  extends MailConfig,
    FlowsConfig,
    WebhooksConfig,
    MigrateConfig,
    MfaConfig,
    WebauthnConfig,
    GdprConfig,
    SsoConfig {
  host: string;
  port: number;
  baseUrl: string;
  dataDir: string;
  databaseUrl: string;
  migrateOnStart: boolean;
  masterKey: string | undefined;
  masterKeyFile: string | undefined;
  masterKeyPrevious: string | undefined;
  masterKeyPreviousFile: string | undefined;
  jwtAudience: string;
  accessTokenMinutes: number;
  clockSkewSeconds: number;
  refreshTokenDays: number;
  maxSessionsPerUser: number;
  refreshReuseIntervalSeconds: number;
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

/**
 * Every option, in the order the docs list them. Each group lives in its own module (./options-*.ts); a new
 * area adds its keys as a new group module spread in here.
 */
export const OPTIONS: readonly OptionSpec[] = [
  ...SERVER_OPTIONS,
  ...TOKEN_OPTIONS,
  ...SESSION_OPTIONS,
  ...PASSWORD_OPTIONS,
  ...NETWORK_OPTIONS,
  ...OPS_OPTIONS,
  ...JOB_OPTIONS,
  ...MAIL_OPTIONS,
  ...FLOWS_OPTIONS,
  ...WEBHOOK_OPTIONS,
  ...MIGRATE_OPTIONS,
  ...MFA_OPTIONS,
  ...WEBAUTHN_OPTIONS,
  ...GDPR_OPTIONS,
  ...SSO_OPTIONS,
];
