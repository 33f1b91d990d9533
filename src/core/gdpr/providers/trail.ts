/**
 * The records the platform keeps about what happened: the audit trail and the domain events (outbox).
 * Erasure keeps every row — the trail stays whole — but replaces the user's id by their pseudonym, clears
 * the IP address and user agent of what they did, and scrubs their email, names and phone from metadata and
 * payloads.
 */
import { signInAttemptKey } from '../../auth/service.js';
import { toJson } from '../../store/codec.js';
import type { PersonalDataProvider } from '../provider.js';
import { affected, iso } from './dates.js';
import { scrubRows } from './free-text.js';

export const auditProvider: PersonalDataProvider = {
  name: 'audit',
  description: 'Security events the user did or that were done to their account',
  covers: [
    'audit_events.actor_id',
    'audit_events.target_id',
    'audit_events.ip',
    'audit_events.user_agent',
    'audit_events.metadata',
  ],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('audit_events')
      .selectAll()
      .where((eb) =>
        eb.or([eb('actor_id', '=', s.userId), eb('target_id', 'in', [s.userId, signInAttemptKey(s.email)])]),
      )
      .orderBy('occurred_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => {
      const self = r.actor_id === s.userId;
      // What another user did to this account is listed without their address or device; what this user
      // did to someone else is listed without that someone.
      const aboutSelf = r.target_id === null || r.target_id === s.userId || r.target_type === 'email';
      return {
        id: r.id,
        occurred_at: iso(r.occurred_at),
        action: r.action,
        outcome: r.outcome,
        actor: self ? 'you' : r.actor_type,
        target_type: r.target_type,
        target_id: aboutSelf ? r.target_id : null,
        ip: self ? r.ip : null,
        user_agent: self ? r.user_agent : null,
        metadata: aboutSelf ? (toJson(r.metadata) ?? {}) : {},
      };
    });
  },
  async erase(tx, s) {
    // Metadata first, while the rows still carry the real id that finds them.
    let n = await scrubRows(tx, 'audit_events', 'id', { metadata: 'json', user_agent: 'text' }, s);
    n += affected(
      await tx
        .updateTable('audit_events')
        .set({ ip: null, user_agent: null })
        .where((eb) =>
          eb.or([
            eb('actor_id', '=', s.userId),
            eb.and([eb('actor_id', 'is', null), eb('target_id', '=', s.userId)]),
            // Unattributed events from the user's own addresses (a failed sign-in before the account was known).
            ...(s.ips.length ? [eb.and([eb('actor_id', 'is', null), eb('ip', 'in', s.ips)])] : []),
          ]),
        )
        .where((eb) => eb.or([eb('ip', 'is not', null), eb('user_agent', 'is not', null)]))
        .executeTakeFirst(),
    );
    for (const col of ['actor_id', 'target_id'] as const)
      n += affected(
        await tx
          .updateTable('audit_events')
          .set({ [col]: s.pseudonym })
          .where(col, '=', s.userId)
          .executeTakeFirst(),
      );
    return n;
  },
};

export const eventsProvider: PersonalDataProvider = {
  name: 'events',
  description: 'Domain events about the account (the source of webhook deliveries)',
  covers: ['outbox.aggregate_id', 'outbox.payload'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('outbox')
      .select(['id', 'event_type', 'created_at'])
      .where('aggregate_id', '=', s.userId)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ id: r.id, type: r.event_type, created_at: iso(r.created_at) }));
  },
  async erase(tx, s) {
    const n = await scrubRows(tx, 'outbox', 'seq', { payload: 'json' }, s);
    const r = await tx
      .updateTable('outbox')
      .set({ aggregate_id: s.pseudonym })
      .where('aggregate_id', '=', s.userId)
      .executeTakeFirst();
    return n + affected(r);
  },
};
