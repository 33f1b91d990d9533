/**
 * Mail settings (issue 11): the SMTP server the `mail.send` jobs deliver through, the sender, the product name
 * in every template, and how long sent messages are kept. Spread into OPTIONS by ./schema.ts; kept here so the
 * mail group is one module.
 *
 * No SMTP server configured (neither `SMTP_URL` nor `SMTP_HOST`) is the embedded default: messages are kept in
 * the database and the daemon logs one line per message naming `janua mail show ID`.
 */
import { resolve } from 'node:path';
import type { JanuaConfig, OptionSpec } from './schema.js';

export interface MailConfig {
  smtpUrl: string | undefined;
  smtpHost: string | undefined;
  smtpPort: number | undefined;
  smtpUser: string | undefined;
  smtpPassword: string | undefined;
  smtpPasswordFile: string | undefined;
  smtpSecure: boolean;
  smtpRequireTls: boolean;
  smtpTlsRejectUnauthorized: boolean;
  smtpTlsCaFile: string | undefined;
  smtpTimeoutSeconds: number;
  mailFrom: string;
  productName: string;
  mailRetentionDays: number;
  cronCleanupMail: string;
}

export const MAIL_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'smtpUrl',
    env: 'SMTP_URL',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'SMTP server as a URL, e.g. `smtp://user:pass@mail.example.com:587` or `smtps://…:465` (implicit TLS). Takes the place of the `SMTP_HOST` group. Unset with `SMTP_HOST` unset: no SMTP, messages are kept (`janua mail show`).',
  },
  {
    key: 'smtpHost',
    env: 'SMTP_HOST',
    type: 'string',
    default: undefined,
    doc: 'SMTP server host name (when `SMTP_URL` is not used).',
  },
  {
    key: 'smtpPort',
    env: 'SMTP_PORT',
    type: 'int',
    default: undefined,
    derivedDefault: '465 with `SMTP_SECURE`, else 587',
    min: 1,
    max: 65535,
    doc: 'SMTP server port.',
  },
  {
    key: 'smtpUser',
    env: 'SMTP_USER',
    type: 'string',
    default: undefined,
    doc: 'SMTP user name (AUTH); unset: no authentication.',
  },
  {
    key: 'smtpPassword',
    env: 'SMTP_PASSWORD',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'SMTP password.',
  },
  {
    key: 'smtpPasswordFile',
    env: 'SMTP_PASSWORD_FILE',
    type: 'string',
    default: undefined,
    doc: 'File holding the SMTP password (read at start; used when `SMTP_PASSWORD` is unset).',
  },
  {
    key: 'smtpSecure',
    env: 'SMTP_SECURE',
    type: 'bool',
    default: false,
    doc: 'Implicit TLS from the first byte (port 465, RFC 8314). Off: plain connection upgraded with STARTTLS when the server offers it.',
  },
  {
    key: 'smtpRequireTls',
    env: 'SMTP_REQUIRE_TLS',
    type: 'bool',
    default: false,
    doc: 'Refuse to send unless the connection is upgraded with STARTTLS (RFC 3207), so a server that stops offering it does not get mail in clear text.',
  },
  {
    key: 'smtpTlsRejectUnauthorized',
    env: 'SMTP_TLS_REJECT_UNAUTHORIZED',
    type: 'bool',
    default: true,
    doc: "Verify the SMTP server's TLS certificate. Turn off only for a test server.",
  },
  {
    key: 'smtpTlsCaFile',
    env: 'SMTP_TLS_CA_FILE',
    type: 'string',
    default: undefined,
    doc: "PEM file of CA certificates to trust for the SMTP server (a private CA), besides the system's.",
  },
  {
    key: 'smtpTimeoutSeconds',
    env: 'SMTP_TIMEOUT_SECONDS',
    type: 'int',
    default: 30,
    min: 1,
    max: 600,
    doc: 'How long one SMTP connection, greeting or reply may take before the attempt fails (and is retried).',
  },
  {
    key: 'mailFrom',
    env: 'MAIL_FROM',
    type: 'string',
    default: undefined,
    derivedDefault: '`"PRODUCT_NAME" <no-reply@HOST>`, HOST from `JANUA_BASE_URL`',
    doc: 'Sender (From header) of every message.',
  },
  {
    key: 'productName',
    env: 'PRODUCT_NAME',
    type: 'string',
    default: 'Janua',
    doc: 'Product name in mail subjects and bodies.',
  },
  {
    key: 'mailRetentionDays',
    env: 'MAIL_RETENTION_DAYS',
    type: 'int',
    default: 7,
    min: 1,
    max: 3650,
    doc: '`cleanup.mail` deletes messages older than this (their bodies hold one-time links: personal data).',
  },
  {
    key: 'cronCleanupMail',
    env: 'CRON_CLEANUP_MAIL',
    type: 'cron',
    default: '40 * * * *',
    doc: 'When `cleanup.mail` runs (messages past `MAIL_RETENTION_DAYS`): a cron expression in UTC, or `off`.',
  },
];

/** Derived mail settings, after every option is read (called by loadConfig). */
export function finishMailConfig(cfg: JanuaConfig, cwd: string): void {
  if (cfg.smtpPasswordFile) cfg.smtpPasswordFile = resolve(cwd, cfg.smtpPasswordFile);
  if (cfg.smtpTlsCaFile) cfg.smtpTlsCaFile = resolve(cwd, cfg.smtpTlsCaFile);
  if (!cfg.mailFrom) {
    const host = new URL(cfg.baseUrl).hostname.replace(/^\[|\]$/g, '');
    // A bare IP is no mail domain; RFC 2606's reserved `.invalid` says so plainly instead of guessing.
    const domain = /^[\d.]+$|:/.test(host) || !host.includes('.') ? `${host || 'localhost'}.invalid` : host;
    cfg.mailFrom = `"${cfg.productName.replace(/["\\\r\n]/g, '')}" <no-reply@${domain}>`;
  }
}

/** Whether an SMTP server is configured (else messages are kept, not sent). */
export function smtpConfigured(cfg: Pick<JanuaConfig, 'smtpUrl' | 'smtpHost'>): boolean {
  return Boolean(cfg.smtpUrl || cfg.smtpHost);
}
