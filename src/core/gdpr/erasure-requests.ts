/**
 * Erasure requests (GDPR Art. 17) and their grace period. A request waits GDPR_ERASURE_GRACE_DAYS — the user
 * can cancel meanwhile, and keeps signing in to do so — then `gdpr.erase-due` executes it (./erase.ts). A
 * platform admin (or an operator at the CLI) can execute one at once. One open request per user: the
 * database refuses a second (partial unique index, migration 0011), on every node.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Deps } from '../deps.js';
import { conflict, notFound, validation } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { checkRecentOrPassword } from '../mfa/enroll.js';
import { isUniqueViolation } from '../orgs/service.js';
import { toDate, toDateOrNull } from '../store/codec.js';
import { insertGdprRequest } from '../store/repos/gdpr-requests.js';
import type { Session } from '../store/repos/sessions.js';
import type { GdprRequestsTable } from '../store/schema.js';
import { isPrivileged, requireAdmin, requireSelfOrAdmin } from '../users/admin-access.js';
import { findUserIn } from '../users/service.js';
import { type EraseDeps, type ErasureReceipt, erasureBlocker, executeErasure } from './erase.js';

export type ErasureDeps = EraseDeps & Pick<Deps, 'hasher'>;

export const REQUEST_STATUSES = [
  'pending',
  'running',
  'completed',
  'cancelled',
  'failed',
  'expired',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** A request as the API and `--json` show it. */
export interface PublicErasureRequest {
  id: string;
  kind: 'erasure';
  user_id: string;
  status: RequestStatus;
  requested_by_type: string;
  reason: string | null;
  created_at: string;
  due_at: string | null;
  completed_at: string | null;
  cancelled_at: string | null;
  last_error: string | null;
}

export interface ErasureRequestResult {
  request: PublicErasureRequest;
  /** Present when the erasure ran at once. */
  receipt?: ErasureReceipt | undefined;
}

function present(r: Selectable<GdprRequestsTable>): PublicErasureRequest {
  return {
    id: r.id,
    kind: 'erasure',
    user_id: r.user_id,
    status: r.status as RequestStatus,
    requested_by_type: r.requested_by_type,
    reason: r.reason,
    created_at: toDate(r.created_at).toISOString(),
    due_at: toDateOrNull(r.due_at)?.toISOString() ?? null,
    completed_at: toDateOrNull(r.completed_at)?.toISOString() ?? null,
    cancelled_at: toDateOrNull(r.cancelled_at)?.toISOString() ?? null,
    last_error: r.last_error,
  };
}

function checkReason(reason: string | undefined): string | null {
  if (reason === undefined || reason === '') return null;
  if (reason.length > 500) throw validation('reason must be at most 500 characters', { reason: 'too long' });
  return reason;
}

/**
 * Files an erasure request for `idOrEmail` (the caller themself, or anyone for an admin). A user confirms with
 * the current password unless they signed in within MFA_RECENT_SIGNIN_MINUTES (a stolen session alone cannot
 * erase an account). `immediate` (admins and operators only) executes it at once.
 */
export async function requestErasure(
  deps: ErasureDeps,
  idOrEmail: string,
  input: { reason?: string | undefined; immediate?: boolean | undefined; password?: string | undefined },
  ctx: RequestContext,
  session?: Pick<Session, 'createdAt'>,
): Promise<ErasureRequestResult> {
  requireSelfOrAdmin(ctx, idOrEmail);
  if (input.immediate) requireAdmin(ctx);
  const reason = checkReason(input.reason);
  const user = await findUserIn(deps.store.db, idOrEmail);
  if (!isPrivileged(ctx) || ctx.actorId === user.id)
    await checkRecentOrPassword(deps, user, session, input.password);
  const now = deps.clock.now();
  const id = randomUUID();
  try {
    await deps.store.transaction(async (tx) => {
      const blocker = await erasureBlocker(tx, { userId: user.id, email: user.email });
      if (blocker) throw conflict(`The account cannot be erased: ${blocker}`);
      await insertGdprRequest(
        tx,
        {
          id,
          kind: 'erasure',
          userId: user.id,
          requestedBy: ctx.actorId ?? null,
          requestedByType: ctx.actorType ?? 'user',
          reason,
          dueAt: input.immediate
            ? now
            : new Date(now.getTime() + deps.config.gdprErasureGraceDays * 86_400_000),
        },
        now,
      );
      await audit(
        tx,
        ctx,
        {
          action: 'gdpr.erasure.requested',
          targetType: 'user',
          targetId: user.id,
          metadata: { request_id: id, immediate: !!input.immediate },
        },
        now,
      );
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('An erasure request for this account is already pending');
    throw err;
  }
  if (!input.immediate) return { request: await getRequest(deps, id) };
  const outcome = await executeErasure(deps, user.id, ctx, { requestId: id });
  return { request: await getRequest(deps, id), receipt: outcome.receipt ?? undefined };
}

async function getRequest(deps: Pick<Deps, 'store'>, id: string): Promise<PublicErasureRequest> {
  const r = await deps.store.db
    .selectFrom('gdpr_requests')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', 'erasure')
    .executeTakeFirst();
  if (!r) throw notFound(`Erasure request ${id} not found`);
  return present(r);
}

/** The open erasure request of a user, or NOT_FOUND. */
async function openRequestOf(deps: Pick<Deps, 'store'>, userId: string) {
  const r = await deps.store.db
    .selectFrom('gdpr_requests')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', 'erasure')
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (!r) throw notFound('There is no pending erasure request for this account');
  return r;
}

/** Cancels the pending erasure of `idOrEmail` (the user themself, or an admin). */
export async function cancelErasure(
  deps: Pick<Deps, 'store' | 'clock'>,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<PublicErasureRequest> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const user = await findUserIn(deps.store.db, idOrEmail);
  const open = await openRequestOf(deps, user.id);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    const r = await tx
      .updateTable('gdpr_requests')
      .set({ status: 'cancelled', cancelled_at: now, updated_at: now })
      .where('id', '=', open.id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw conflict('The erasure request is no longer pending');
    await audit(
      tx,
      ctx,
      {
        action: 'gdpr.erasure.cancelled',
        targetType: 'user',
        targetId: user.id,
        metadata: { request_id: open.id },
      },
      now,
    );
  });
  return getRequest(deps, open.id);
}

/** Executes a pending request now (admins and operators). */
export async function executeRequestNow(
  deps: EraseDeps,
  requestId: string,
  ctx: RequestContext,
): Promise<ErasureRequestResult> {
  requireAdmin(ctx);
  const r = await getRequest(deps, requestId);
  if (r.status !== 'pending') throw conflict(`The erasure request is ${r.status}, not pending`);
  const outcome = await executeErasure(deps, r.user_id, ctx, { requestId });
  return { request: await getRequest(deps, requestId), receipt: outcome.receipt ?? undefined };
}

export interface RequestFilter {
  status?: RequestStatus | undefined;
  user?: string | undefined;
  limit?: number | undefined;
}

/** Erasure requests, due first; a user sees only their own (`user` is then required to be themself). */
export async function listErasureRequests(
  deps: Pick<Deps, 'store'>,
  filter: RequestFilter,
  ctx: RequestContext,
): Promise<PublicErasureRequest[]> {
  if (filter.user !== undefined) requireSelfOrAdmin(ctx, filter.user);
  else requireAdmin(ctx);
  if (filter.status !== undefined && !REQUEST_STATUSES.includes(filter.status))
    throw validation(`status must be one of ${REQUEST_STATUSES.join(', ')}`, { status: 'invalid' });
  const userId = filter.user === undefined ? undefined : (await findUserIn(deps.store.db, filter.user)).id;
  let q = deps.store.db.selectFrom('gdpr_requests').selectAll().where('kind', '=', 'erasure');
  if (userId) q = q.where('user_id', '=', userId);
  if (filter.status) q = q.where('status', '=', filter.status);
  const rows = await q
    .orderBy('due_at')
    .orderBy('created_at')
    .limit(Math.min(1000, Math.max(1, filter.limit ?? 200)))
    .execute();
  return rows.map(present);
}

/**
 * The `gdpr.erase-due` job: executes every pending request whose grace period is over, each in its own
 * transaction. One that cannot run (the user became the sole owner of an organization) stays pending with
 * the reason in `last_error` and is retried on the next run; `janua gdpr requests` shows it.
 */
export async function eraseDue(
  deps: EraseDeps,
  ctx: RequestContext,
  signal?: AbortSignal,
): Promise<{ erased: number; blocked: number }> {
  const now = deps.clock.now();
  const due = await deps.store.db
    .selectFrom('gdpr_requests')
    .select(['id', 'user_id'])
    .where('kind', '=', 'erasure')
    .where('status', '=', 'pending')
    .where('due_at', '<=', now)
    .orderBy('due_at')
    .limit(500)
    .execute();
  let erased = 0;
  let blocked = 0;
  for (const r of due) {
    signal?.throwIfAborted();
    try {
      await executeErasure(deps, r.user_id, ctx, { requestId: r.id });
      erased++;
    } catch (err) {
      blocked++;
      await deps.store.db
        .updateTable('gdpr_requests')
        .set({
          last_error: err instanceof Error ? err.message.slice(0, 500) : String(err),
          updated_at: deps.clock.now(),
        })
        .where('id', '=', r.id)
        .execute();
    }
  }
  return { erased, blocked };
}
