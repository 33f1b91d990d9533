/**
 * What left (or was queued to leave) the platform about the user: mail, webhook deliveries, queued jobs.
 * Mail to the user is deleted (its bodies held one-time links and their name); mail to others that mentions
 * them is scrubbed. Webhook deliveries are kept for the endpoint's record with the user scrubbed from the
 * stored body, and the receiver's answer dropped. Queued work about the user is dropped, except a job a
 * worker holds right now (it finds the user gone and ends).
 */
import { toJson } from '../../store/codec.js';
import type { PersonalDataProvider } from '../provider.js';
import { needles, textContains } from '../subject.js';
import { affected, iso } from './dates.js';
import { rowsMentioning, scrubRows } from './free-text.js';

export const mailProvider: PersonalDataProvider = {
  name: 'mail',
  description:
    'Mail sent to the user: template, subject, status and dates (not the bodies: they held one-time links)',
  covers: [
    'mail_messages.user_id',
    'mail_messages.to_address',
    'mail_messages.subject',
    'mail_messages.text_body',
    'mail_messages.html_body',
  ],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('mail_messages')
      .select(['id', 'to_address', 'template', 'subject', 'status', 'created_at', 'sent_at'])
      .where((eb) => eb.or([eb('user_id', '=', s.userId), eb(eb.fn('lower', ['to_address']), '=', s.email)]))
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      to: r.to_address,
      template: r.template,
      subject: r.subject,
      status: r.status,
      created_at: iso(r.created_at),
      sent_at: iso(r.sent_at),
    }));
  },
  async erase(tx, s) {
    const n = affected(
      await tx
        .deleteFrom('mail_messages')
        .where((eb) =>
          eb.or([eb('user_id', '=', s.userId), eb(eb.fn('lower', ['to_address']), '=', s.email)]),
        )
        .executeTakeFirst(),
    );
    return (
      n +
      (await scrubRows(
        tx,
        'mail_messages',
        'id',
        { subject: 'text', text_body: 'text', html_body: 'text' },
        s,
      ))
    );
  },
};

export const webhookDeliveriesProvider: PersonalDataProvider = {
  name: 'webhook_deliveries',
  description: 'Webhook deliveries whose payload is about the user: event, endpoint, status, dates',
  covers: ['webhook_deliveries.body', 'webhook_deliveries.response_body'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('webhook_deliveries')
      .select([
        'id',
        'endpoint_id',
        'event_id',
        'event_type',
        'status',
        'attempts',
        'created_at',
        'delivered_at',
      ])
      .where((eb) => eb.or([textContains('body', s.userId), textContains('body', s.email)]))
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      endpoint_id: r.endpoint_id,
      event_id: r.event_id,
      event_type: r.event_type,
      status: r.status,
      attempts: r.attempts,
      created_at: iso(r.created_at),
      delivered_at: iso(r.delivered_at),
    }));
  },
  async erase(tx, s) {
    const hits = await rowsMentioning(tx, 'webhook_deliveries', 'id', ['body', 'response_body'], needles(s));
    let n = 0;
    if (hits.length)
      n += affected(
        await tx
          .updateTable('webhook_deliveries')
          .set({ response_body: null })
          .where(
            'id',
            'in',
            hits.map((h) => String(h['id'])),
          )
          .where('response_body', 'is not', null)
          .executeTakeFirst(),
      );
    return n + (await scrubRows(tx, 'webhook_deliveries', 'id', { body: 'text' }, s));
  },
};

export const jobsProvider: PersonalDataProvider = {
  name: 'jobs',
  description: 'Queued work about the user (mail to send, email-flow requests, exports)',
  covers: ['jobs.payload', 'jobs.last_error'],
  async export(ex, s) {
    const rows = await rowsMentioning(
      ex,
      'jobs',
      'id',
      ['payload'],
      [s.userId, s.email],
      ['kind', 'state', 'created_at'],
    );
    return rows.map((r) => ({
      kind: r['kind'],
      state: r['state'],
      created_at: iso(r['created_at'] as string | number | Date),
      payload: toJson(r['payload']),
    }));
  },
  async erase(tx, s) {
    const hits = await rowsMentioning(tx, 'jobs', 'id', ['payload', 'last_error'], needles(s), ['state']);
    const drop = hits.filter((h) => h['state'] !== 'running').map((h) => String(h['id']));
    let n = 0;
    for (let i = 0; i < drop.length; i += 500)
      n += affected(
        await tx
          .deleteFrom('jobs')
          .where('id', 'in', drop.slice(i, i + 500))
          .executeTakeFirst(),
      );
    return n + (await scrubRows(tx, 'jobs', 'id', { payload: 'json', last_error: 'text' }, s));
  },
};
