/**
 * The audit trail as the admin API and operators read it: `GET /api/v1/admin/activity` and
 * `GET /api/v1/audit-logs` are both this one query; `GET /api/v1/audit-logs/export` and `janua audit export`
 * stream it (`streamAuditEvents`).
 */
import type { Deps } from '../deps.js';
import { validation } from '../errors.js';
import { type AuditEvent, type AuditFilter, auditEvents } from '../store/repos/audit-events.js';

export const MAX_PER_PAGE = 100;
export const DEFAULT_PER_PAGE = 50;

export interface AuditQuery {
  /** Exact action (`auth.signin`), or a prefix when it ends in `.` or `*` (`auth.`, `auth.*`). */
  action?: string | undefined;
  actorId?: string | undefined;
  targetId?: string | undefined;
  /** Events where this id is the actor or the target (a user id, or an erased user's pseudonym). */
  userId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  page?: number | undefined;
  perPage?: number | undefined;
}

/** The audit event of the API and of `--json` output. */
export interface PublicAuditEvent {
  id: string;
  occurred_at: string;
  action: string;
  outcome: 'success' | 'failure';
  actor_id: string | null;
  actor_type: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: Record<string, unknown>;
}

export interface AuditPage {
  items: PublicAuditEvent[];
  total: number;
  page: number;
  per_page: number;
}

export function presentAuditEvent(e: AuditEvent): PublicAuditEvent {
  return {
    id: e.id,
    occurred_at: e.occurredAt.toISOString(),
    action: e.action,
    outcome: e.outcome,
    actor_id: e.actorId,
    actor_type: e.actorType,
    target_type: e.targetType,
    target_id: e.targetId,
    ip: e.ip,
    user_agent: e.userAgent,
    request_id: e.requestId,
    metadata: e.metadata,
  };
}

function toFilter(q: AuditQuery): AuditFilter {
  const f: AuditFilter = {
    actorId: q.actorId,
    targetId: q.targetId,
    userId: q.userId,
    outcome: q.outcome,
    since: q.since,
    until: q.until,
  };
  if (q.action) {
    const star = q.action.endsWith('*');
    f.action = star ? q.action.slice(0, -1) : q.action;
    f.actionPrefix = star || q.action.endsWith('.');
    if (f.actionPrefix && f.action === '') f.action = undefined;
  }
  if (q.since && q.until && q.since.getTime() >= q.until.getTime())
    throw validation('since must be earlier than until', { since: 'not before until' });
  return f;
}

/** Audit events matching `q`, newest first, one page at a time (per_page at most 100). */
export async function listAuditEvents(deps: Pick<Deps, 'store'>, q: AuditQuery): Promise<AuditPage> {
  const page = Math.max(1, Math.trunc(q.page ?? 1));
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Math.trunc(q.perPage ?? DEFAULT_PER_PAGE)));
  const { rows, total } = await auditEvents.page(
    deps.store.db,
    deps.store.dialect,
    toFilter(q),
    perPage,
    (page - 1) * perPage,
  );
  return { items: rows.map(presentAuditEvent), total, page, per_page: perPage };
}

/** Rows per keyset batch of the export: memory stays flat whatever the table size. */
export const EXPORT_BATCH = 1000;

/**
 * Every audit event matching `q` (page and perPage ignored), oldest first, as an async generator reading
 * batches of `batch` rows by keyset (occurred_at, id). The filter is checked (since < until) before the
 * first row is read, so a caller can still answer 422 before it starts writing.
 */
export function streamAuditEvents(
  deps: Pick<Deps, 'store'>,
  q: AuditQuery,
  batch = EXPORT_BATCH,
): AsyncGenerator<PublicAuditEvent> {
  const f = toFilter(q);
  const size = Math.max(1, Math.trunc(batch));
  return (async function* () {
    let after: { occurredAt: Date; id: string } | null = null;
    for (;;) {
      const rows = await auditEvents.after(deps.store.db, deps.store.dialect, f, after, size);
      for (const e of rows) yield presentAuditEvent(e);
      if (rows.length < size) return;
      const last = rows[rows.length - 1]!;
      after = { occurredAt: last.occurredAt, id: last.id };
    }
  })();
}
