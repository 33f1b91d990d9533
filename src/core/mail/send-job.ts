/**
 * The `mail.send` job: delivers one stored message. Jobs run at least once, so the handler is idempotent: a
 * message already sent (or kept) is not sent again, a job superseded by a resend does nothing, and the Message-ID
 * is fixed per send (`<id@domain>`, `<id.N@domain>` after the Nth resend), so the rare second delivery after a
 * crash between the server's "250 OK" and our record of it is recognisable as the same message (RFC 5322 §3.6.4).
 *
 * SMTP failures are thrown, so the queue retries them: 2 s doubling to a 60 s cap, so mail flows again within
 * about a minute of the server's return, for MAIL_MAX_ATTEMPTS attempts (over an hour). The message row tracks
 * it: retrying with the last error (never a credential: see mailer.ts), failed once the attempts are spent.
 */
import type { Deps } from '../deps.js';
import type { JobKind } from '../jobs/kinds.js';
import { type MailMessage, mailMessages } from '../store/repos/mail.js';
import { createMailer, type Mailer } from './mailer.js';
import { MAIL_SEND_KIND, type MailJobPayload } from './queue.js';

export const MAIL_BACKOFF = { baseMs: 2_000, maxMs: 60_000 } as const;

/** The Message-ID of a message's current send (without angle brackets). */
export function messageIdOf(m: Pick<MailMessage, 'id' | 'resends' | 'from'>): string {
  const at = m.from.lastIndexOf('@');
  const domain = at >= 0 ? m.from.slice(at + 1).replace(/[>\s].*$/, '') : '';
  return `${m.resends ? `${m.id}.${m.resends}` : m.id}@${domain || 'janua.invalid'}`;
}

/** The command that shows a kept message (named in the no-SMTP log line). */
export function showCommand(id: string): string {
  return `janua mail show ${id}`;
}

export function mailSendKind(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'logger'>,
  mailer: Mailer | null = createMailer(deps.config),
): JobKind {
  const { store, clock, logger } = deps;
  if (!mailer)
    logger.info(
      'no SMTP server configured (SMTP_URL or SMTP_HOST): mail is kept, not sent; each message is logged with the command that shows it',
    );
  return {
    kind: MAIL_SEND_KIND,
    concurrency: 4,
    backoff: MAIL_BACKOFF,
    // Connection, greeting and each reply are bounded by SMTP_TIMEOUT_SECONDS; this bounds the whole exchange.
    timeoutMs: deps.config.smtpTimeoutSeconds * 4_000 + 10_000,
    async handle(job) {
      const { message_id: id } = (job.payload ?? {}) as Partial<MailJobPayload>;
      if (typeof id !== 'string') return; // not ours to deliver: nothing to retry either
      const m = await mailMessages.findById(store.db, id);
      // Deleted (retention, the user erased), superseded by a resend's job, or already done: nothing to send.
      if (!m || m.jobId !== job.id || m.status === 'sent' || m.status === 'kept') return;
      if (!mailer) {
        await mailMessages.record(
          store.db,
          id,
          job.id,
          { status: 'kept', attempts: 0, lastError: null },
          clock.now(),
        );
        // One line per message, naming the command that shows it; never the link (it holds a one-time token).
        logger.info(
          { mail: id, to: m.to, template: m.template },
          `mail kept (no SMTP server configured); read it with: ${showCommand(id)}`,
        );
        return;
      }
      try {
        await mailer.send({
          from: m.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: messageIdOf(m),
        });
      } catch (err) {
        const last = job.attempts >= job.maxAttempts;
        await mailMessages.record(
          store.db,
          id,
          job.id,
          { status: last ? 'failed' : 'retrying', attempts: job.attempts, lastError: (err as Error).message },
          clock.now(),
        );
        throw err;
      }
      const now = clock.now();
      await mailMessages.record(
        store.db,
        id,
        job.id,
        { status: 'sent', attempts: job.attempts, lastError: null, sentAt: now },
        now,
      );
      logger.debug({ mail: id, template: m.template, smtp: mailer.target }, 'mail sent');
    },
  };
}
