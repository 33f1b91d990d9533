import type { Selectable } from 'kysely';
import { toDate, toJson } from '../codec.js';
import type { Dialect } from '../migrations/types.js';
import { prefixMatch } from '../prefix.js';
import type { AuditEventsTable } from '../schema.js';
import type { Executor } from '../store.js';

export interface AuditEvent {
  id: string;
  occurredAt: Date;
  action: string;
  outcome: 'success' | 'failure';
  actorId: string | null;
  actorType: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  metadata: Record<string, unknown>;
}

export interface AuditFilter {
  /** Exact action, or a prefix when `actionPrefix` is set (`auth.` matches `auth.signin`, `auth.lockout`). */
  action?: string | undefined;
  actionPrefix?: boolean | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  /** Events where this id is the actor or the target. */
  userId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  /** Inclusive lower bound. */
  since?: Date | undefined;
  /** Exclusive upper bound. */
  until?: Date | undefined;
}

function decode(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: r.id,
    occurredAt: toDate(r.occurred_at),
    action: r.action,
    outcome: r.outcome as AuditEvent['outcome'],
    actorId: r.actor_id,
    actorType: r.actor_type,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    userAgent: r.user_agent,
    requestId: r.request_id,
    metadata: toJson<Record<string, unknown>>(r.metadata) ?? {},
  };
}

function filtered(ex: Executor, dialect: Dialect, f: AuditFilter) {
  let q = ex.selectFrom('audit_events');
  if (f.action !== undefined) {
    const action = f.action;
    q = f.actionPrefix
      ? q.where((eb) => prefixMatch(eb, dialect, eb.ref('action'), action))
      : q.where('action', '=', action);
  }
  if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
  if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
  if (f.userId !== undefined) {
    const id = f.userId;
    q = q.where((eb) => eb.or([eb('actor_id', '=', id), eb('target_id', '=', id)]));
  }
  if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
  if (f.since) q = q.where('occurred_at', '>=', f.since);
  if (f.until) q = q.where('occurred_at', '<', f.until);
  return q;
}

/** Read side of the audit table (rows are written by `audit()` in the changing transaction). */
export const auditEvents = {
  /** One page, newest first, and the total matching count. */
  async page(
    ex: Executor,
    dialect: Dialect,
    f: AuditFilter,
    limit: number,
    offset: number,
  ): Promise<{ rows: AuditEvent[]; total: number }> {
    const q = filtered(ex, dialect, f);
    const [rows, count] = await Promise.all([
      q
        .selectAll()
        .orderBy('occurred_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .offset(offset)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows: rows.map(decode), total: Number(count.n) };
  },

  /**
   * Up to `limit` events oldest first, strictly after the keyset `after` (occurred_at, id): the export's
   * pagination. Unlike OFFSET, each batch costs the same however deep into the table it is (the
   * (occurred_at, id) index serves it), and rows written meanwhile neither repeat nor shift the pages.
   */
  async after(
    ex: Executor,
    dialect: Dialect,
    f: AuditFilter,
    after: { occurredAt: Date; id: string } | null,
    limit: number,
  ): Promise<AuditEvent[]> {
    let q = filtered(ex, dialect, f);
    if (after) {
      const { occurredAt, id } = after;
      q = q.where((eb) =>
        eb.or([
          eb('occurred_at', '>', occurredAt),
          eb.and([eb('occurred_at', '=', occurredAt), eb('id', '>', id)]),
        ]),
      );
    }
    const rows = await q.selectAll().orderBy('occurred_at').orderBy('id').limit(limit).execute();
    return rows.map(decode);
  },

  /** How many `action` events since `since`, by outcome. */
  async countByOutcome(
    ex: Executor,
    action: string,
    since: Date,
  ): Promise<{ success: number; failure: number }> {
    const rows = await ex
      .selectFrom('audit_events')
      .select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .where('occurred_at', '>=', since)
      .where('action', '=', action)
      .groupBy('outcome')
      .execute();
    const out = { success: 0, failure: 0 };
    for (const r of rows)
      if (r.outcome === 'success' || r.outcome === 'failure') out[r.outcome] = Number(r.n);
    return out;
  },
};
