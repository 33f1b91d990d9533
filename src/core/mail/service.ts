/** What operators do with mail (`janua mail …`): list, show, resend, send a test message, clean up. */
import type { Deps } from '../deps.js';
import { notFound } from '../errors.js';
import { inBatches } from '../jobs/cleanup.js';
import { enqueue } from '../jobs/queue.js';
import { jobSignals } from '../jobs/signals.js';
import { jobs } from '../store/repos/jobs.js';
import { type MailFilter, type MailMessage, mailMessages } from '../store/repos/mail.js';
import { afterCommit, type Executor } from '../store/store.js';
import { enqueueMail, MAIL_MAX_ATTEMPTS, MAIL_SEND_KIND, type MailJobPayload } from './queue.js';
import { messageIdOf } from './send-job.js';

type ServiceDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

const DAY_MS = 86_400_000;
const LINK = /https?:\/\/[^\s<>"')\]]+/g;

/** The http(s) links in a message's text body, in order. */
export function linksOf(text: string): string[] {
  return text.match(LINK) ?? [];
}

/** A message as `janua mail list --json` shows it (no body). */
export function presentMail(m: MailMessage) {
  return {
    id: m.id,
    to: m.to,
    template: m.template,
    subject: m.subject,
    status: m.status,
    attempts: m.attempts,
    resends: m.resends,
    last_error: m.lastError,
    user_id: m.userId,
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
    sent_at: m.sentAt?.toISOString() ?? null,
  };
}

/** A message in full (`janua mail show`): headers, the text body and its links. */
export function presentMailFull(m: MailMessage) {
  return {
    ...presentMail(m),
    headers: {
      From: m.from,
      To: m.to,
      Subject: m.subject,
      'Message-ID': `<${messageIdOf(m)}>`,
      Date: (m.sentAt ?? m.createdAt).toUTCString(),
    },
    text: m.text,
    links: linksOf(m.text),
  };
}

export async function listMail(deps: Pick<Deps, 'store'>, filter: MailFilter): Promise<MailMessage[]> {
  return mailMessages.list(deps.store.db, filter);
}

export async function getMail(deps: Pick<Deps, 'store'>, id: string): Promise<MailMessage> {
  const m = await mailMessages.findById(deps.store.db, id);
  if (!m) throw notFound(`no mail message ${id}`);
  return m;
}

export interface ResendOutcome {
  id: string;
  /** requeued: a new send was queued; hurried: its pending retry is due now; queued: it is already waiting. */
  outcome: 'requeued' | 'hurried' | 'queued';
}

/**
 * Sends a message again. Sent, kept or failed messages get a new send (a new job and Message-ID, a fresh attempt
 * budget); one waiting for a retry is made due now; one whose send is pending or running is left as it is.
 */
export async function resendMail(deps: ServiceDeps, id: string): Promise<ResendOutcome> {
  return deps.store.transaction(async (tx) => {
    const m = await mailMessages.findById(tx, id);
    if (!m) throw notFound(`no mail message ${id}`);
    const now = deps.clock.now();
    const current =
      m.jobId && m.status !== 'sent' && m.status !== 'kept' && m.status !== 'failed'
        ? await jobs.findById(tx, m.jobId)
        : undefined;
    if (current?.state === 'pending' || current?.state === 'running') return { id, outcome: 'queued' };
    if (current?.state === 'failed' && (await jobs.retry(tx, [current.id], now)).length) {
      afterCommit(tx, () => jobSignals.wake(MAIL_SEND_KIND));
      return { id, outcome: 'hurried' };
    }
    // Done, given up, or its job was cancelled or cleaned away: a fresh send.
    const job = await enqueue(tx, deps, MAIL_SEND_KIND, { message_id: id } satisfies MailJobPayload, {
      maxAttempts: MAIL_MAX_ATTEMPTS,
    });
    await mailMessages.requeue(tx, id, job.id, now);
    return { id, outcome: 'requeued' };
  });
}

/** Queues a test message to `to`, to check the SMTP settings end to end. */
export async function sendTestMail(deps: ServiceDeps, to: string): Promise<{ id: string }> {
  return deps.store.transaction((tx) => enqueueMail(tx, deps, { to, template: 'test', vars: {} }));
}

/** `cleanup.mail`: messages older than the retention go (their bodies hold one-time links). */
export async function cleanupMail(
  ex: Executor,
  now: Date,
  retentionDays: number,
  signal?: AbortSignal,
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * DAY_MS);
  return inBatches((limit) => mailMessages.deleteBefore(ex, before, limit), signal);
}
