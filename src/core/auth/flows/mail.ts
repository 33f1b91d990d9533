/**
 * The flows' one door to the mailer: a message is enqueued in the transaction that issues the token it
 * carries (see src/core/mail/queue.ts), so a committed token always gets its mail and a rolled-back one never.
 */
import type { Deps } from '../../deps.js';
import { enqueueMail, type MailTemplate } from '../../mail/index.js';
import type { Executor } from '../../store/store.js';

export type FlowMailDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

export async function sendFlowMail(
  tx: Executor,
  deps: FlowMailDeps,
  mail: {
    to: string;
    template: MailTemplate;
    link?: string;
    expiresIn?: string;
    userId: string;
    vars?: Record<string, string>;
  },
): Promise<void> {
  const vars: Record<string, string> = { ...mail.vars };
  if (mail.link) vars['link'] = mail.link;
  if (mail.expiresIn) vars['expires_in'] = mail.expiresIn;
  await enqueueMail(tx, deps, { to: mail.to, template: mail.template, vars, userId: mail.userId });
}
