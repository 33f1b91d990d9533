/**
 * Delivery over SMTP with nodemailer. One transport per process, built from the config; a plain (non-pooled)
 * transport opens one connection per message, which is plenty for account mail and holds nothing open between
 * sends. Every stage has a timeout (`SMTP_TIMEOUT_SECONDS`) so a hung server fails the attempt instead of the
 * job's lease running out.
 */
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { ConfigError } from '../config/load.js';
import { smtpConfigured } from '../config/options-mail.js';
import type { JanuaConfig } from '../config/schema.js';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Without the angle brackets: `<local@domain>` is added. */
  messageId: string;
}

export interface Mailer {
  /** Hands the message to the SMTP server; rejects (with a message free of secrets) when it is not accepted. */
  send(mail: OutgoingMail): Promise<void>;
  /** Where mail goes, for logs: host and port, never credentials. */
  readonly target: string;
}

type SmtpConfig = Pick<
  JanuaConfig,
  | 'smtpUrl'
  | 'smtpHost'
  | 'smtpPort'
  | 'smtpUser'
  | 'smtpPassword'
  | 'smtpPasswordFile'
  | 'smtpSecure'
  | 'smtpRequireTls'
  | 'smtpTlsRejectUnauthorized'
  | 'smtpTlsCaFile'
  | 'smtpTimeoutSeconds'
>;

function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** An error's text with the given secrets and any URL credentials removed, bounded in length. */
export function scrubError(err: unknown, secrets: readonly (string | undefined)[]): string {
  let text = err instanceof Error ? err.message : String(err);
  for (const s of secrets) if (s && s.length >= 3) text = text.split(s).join('***');
  text = text.replace(/\/\/[^/\s@]*@/g, '//***@');
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** The mailer for this config, or null when no SMTP server is configured (messages are kept). */
export function createMailer(cfg: SmtpConfig): Mailer | null {
  if (!smtpConfigured(cfg)) return null;
  const password =
    cfg.smtpPassword ??
    (cfg.smtpPasswordFile ? readSecretFile(cfg.smtpPasswordFile, 'SMTP_PASSWORD_FILE') : undefined);
  const ms = cfg.smtpTimeoutSeconds * 1000;
  const tls = {
    rejectUnauthorized: cfg.smtpTlsRejectUnauthorized,
    ...(cfg.smtpTlsCaFile ? { ca: readSecretFile(cfg.smtpTlsCaFile, 'SMTP_TLS_CA_FILE') } : {}),
  };
  const common = {
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
    dnsTimeout: ms,
    requireTLS: cfg.smtpRequireTls,
    tls,
  };
  let target: string;
  let secrets: (string | undefined)[];
  let transport: ReturnType<typeof createTransport>;
  if (cfg.smtpUrl) {
    let url: URL;
    try {
      url = new URL(cfg.smtpUrl);
    } catch {
      throw new ConfigError('SMTP_URL must be a URL such as smtp://user:password@mail.example.com:587');
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
      throw new ConfigError(`SMTP_URL must start with smtp:// or smtps://; got ${url.protocol}//`);
    target = `${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`;
    secrets = [decodeURIComponent(url.password), url.password];
    transport = createTransport({ url: cfg.smtpUrl, ...common });
  } else {
    const port = cfg.smtpPort ?? (cfg.smtpSecure ? 465 : 587);
    target = `${cfg.smtpHost}:${port}`;
    secrets = [password];
    transport = createTransport({
      host: cfg.smtpHost,
      port,
      secure: cfg.smtpSecure,
      ...(cfg.smtpUser ? { auth: { user: cfg.smtpUser, pass: password ?? '' } } : {}),
      ...common,
    });
  }
  return {
    target,
    async send(mail) {
      try {
        await transport.sendMail({
          from: mail.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<${mail.messageId}>`,
          // RFC 3834 §5: automatic replies (vacation notices) are not sent to auto-generated mail.
          headers: { 'Auto-Submitted': 'auto-generated' },
        });
      } catch (err) {
        throw new Error(scrubError(err, secrets));
      }
    },
  };
}
