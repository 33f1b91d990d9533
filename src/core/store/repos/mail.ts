/** Outgoing mail messages (see migrations/0005_mail.ts for the statuses). */
import type { Selectable } from 'kysely';
import { toDate, toDateOrNull } from '../codec.js';
import type { MailMessagesTable } from '../schema.js';
import type { Executor } from '../store.js';
import { deletePicked } from './delete-picked.js';

export const MAIL_STATUSES = ['queued', 'retrying', 'sent', 'failed', 'kept'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

export interface MailMessage {
  id: string;
  userId: string | null;
  to: string;
  from: string;
  template: string;
  subject: string;
  text: string;
  html: string;
  status: MailStatus;
  /** Delivery attempts of the current send (reset by a resend). */
  attempts: number;
  resends: number;
  lastError: string | null;
  jobId: string | null;
  createdAt: Date;
  updatedAt: Date;
  sentAt: Date | null;
}

export type NewMailMessage = Pick<
  MailMessage,
  'id' | 'userId' | 'to' | 'from' | 'template' | 'subject' | 'text' | 'html' | 'jobId'
>;

function decode(r: Selectable<MailMessagesTable>): MailMessage {
  return {
    id: r.id,
    userId: r.user_id,
    to: r.to_address,
    from: r.from_address,
    template: r.template,
    subject: r.subject,
    text: r.text_body,
    html: r.html_body,
    status: r.status as MailStatus,
    attempts: Number(r.attempts),
    resends: Number(r.resends),
    lastError: r.last_error,
    jobId: r.job_id,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    sentAt: toDateOrNull(r.sent_at),
  };
}

export interface MailFilter {
  to?: string | undefined;
  /** Only messages whose delivery failed: retrying (will try again) or failed (gave up). */
  failed?: boolean | undefined;
  limit: number;
}

export const mailMessages = {
  async insert(ex: Executor, m: NewMailMessage, now: Date): Promise<void> {
    await ex
      .insertInto('mail_messages')
      .values({
        id: m.id,
        user_id: m.userId,
        to_address: m.to,
        from_address: m.from,
        template: m.template,
        subject: m.subject,
        text_body: m.text,
        html_body: m.html,
        status: 'queued',
        attempts: 0,
        resends: 0,
        last_error: null,
        job_id: m.jobId,
        created_at: now,
        updated_at: now,
        sent_at: null,
      })
      .execute();
  },

  async findById(ex: Executor, id: string): Promise<MailMessage | undefined> {
    const row = await ex.selectFrom('mail_messages').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decode(row);
  },

  /** Newest first. Recipients compare case-insensitively (what users type varies; mailboxes rarely do). */
  async list(ex: Executor, f: MailFilter): Promise<MailMessage[]> {
    let q = ex.selectFrom('mail_messages').selectAll();
    if (f.to) q = q.where((eb) => eb(eb.fn('lower', ['to_address']), '=', f.to!.toLowerCase()));
    if (f.failed) q = q.where('status', 'in', ['retrying', 'failed']);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
    return rows.map(decode);
  },

  /** Records one delivery attempt's outcome, unless a resend gave the message another job meanwhile. */
  async record(
    ex: Executor,
    id: string,
    jobId: string,
    outcome: { status: MailStatus; attempts: number; lastError: string | null; sentAt?: Date },
    now: Date,
  ): Promise<void> {
    await ex
      .updateTable('mail_messages')
      .set({
        status: outcome.status,
        attempts: outcome.attempts,
        last_error: outcome.lastError,
        updated_at: now,
        ...(outcome.sentAt ? { sent_at: outcome.sentAt } : {}),
      })
      .where('id', '=', id)
      .where('job_id', '=', jobId)
      .execute();
  },

  /** A resend: back to queued with a fresh attempt count and a new job. */
  async requeue(ex: Executor, id: string, jobId: string, now: Date): Promise<void> {
    await ex
      .updateTable('mail_messages')
      .set((eb) => ({
        status: 'queued',
        attempts: 0,
        last_error: null,
        job_id: jobId,
        resends: eb('resends', '+', 1),
        updated_at: now,
      }))
      .where('id', '=', id)
      .execute();
  },

  async deleteBefore(ex: Executor, before: Date, limit: number): Promise<number> {
    return deletePicked(ex, 'mail_messages', 'id', (q) =>
      q.where('created_at', '<', before).orderBy('created_at').limit(limit),
    );
  },
};
