/**
 * The mail interface the flows use. A message is rendered and stored, and its `mail.send` job enqueued, inside
 * the caller's transaction — the same one that stores the token the message carries — so a message exists
 * exactly when its token does: a rolled-back request sends nothing, and a committed one is sent by the workers
 * even if this node dies right after the commit. Sending never blocks the request.
 *
 * Use, from a core service:
 *
 *   await deps.store.transaction(async (tx) => {
 *     const token = await tokens.issue(tx, …);
 *     await enqueueMail(tx, deps, {
 *       to: user.email,
 *       template: 'password_reset',
 *       vars: { link: `${base}/reset?token=${token}`, expires_in: '1 hour' },
 *       userId: user.id,
 *     });
 *   });
 *
 * `vars.link` is required for the templates that carry a one-time link (verify_email, password_reset,
 * magic_link, email_change_confirm); `vars.expires_in` is optional human text ("1 hour"). `product_name` and
 * `email` (the recipient) are added here from the config. Only http(s) links are accepted.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { validation } from '../errors.js';
import { enqueue } from '../jobs/queue.js';
import { mailMessages } from '../store/repos/mail.js';
import type { Executor } from '../store/store.js';
import { isMailTemplate, type MailTemplate, render } from './templates.js';

export type { MailTemplate } from './templates.js';

export const MAIL_SEND_KIND = 'mail.send';
/**
 * Attempts before a message is given up (status failed). With the backoff of the `mail.send` kind (2 s doubling,
 * capped at 60 s, jittered to half–all of it) 150 attempts cover about 70 minutes at the least and two hours on
 * average: a mail server down for a maintenance window loses nothing.
 */
export const MAIL_MAX_ATTEMPTS = 150;

export interface MailInput {
  to: string;
  template: MailTemplate;
  vars: Record<string, string>;
  /** The user the message is about (their messages go when they are deleted). */
  userId?: string | null;
}

export type MailDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

/** The payload of a `mail.send` job. */
export interface MailJobPayload {
  message_id: string;
}

const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+$/;

export function checkRecipient(to: string): string {
  const addr = to.trim();
  // RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254.
  if (addr.length > 254 || !EMAIL.test(addr) || /[\p{Cc}]/u.test(addr))
    throw validation('not a valid email address', { to: 'not a valid email address' });
  return addr;
}

/**
 * Stores the message and enqueues its send job inside `tx` (the caller's transaction; the database itself
 * also works, for a message on its own). Returns the message id (what `janua mail show` takes).
 */
export async function enqueueMail(tx: Executor, deps: MailDeps, input: MailInput): Promise<{ id: string }> {
  if (!isMailTemplate(input.template)) throw validation(`unknown mail template ${String(input.template)}`);
  const to = checkRecipient(input.to);
  const vars = { ...input.vars, email: to, product_name: deps.config.productName };
  const rendered = render(input.template, vars);
  const id = randomUUID();
  const job = await enqueue(tx, deps, MAIL_SEND_KIND, { message_id: id } satisfies MailJobPayload, {
    maxAttempts: MAIL_MAX_ATTEMPTS,
  });
  await mailMessages.insert(
    tx,
    {
      id,
      userId: input.userId ?? null,
      to,
      from: deps.config.mailFrom,
      template: input.template,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      jobId: job.id,
    },
    deps.clock.now(),
  );
  return { id };
}
