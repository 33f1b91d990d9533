/**
 * Executing an erasure (GDPR Art. 17): every provider of the registry, in ERASE_ORDER, in ONE transaction —
 * the user is erased everywhere or nowhere. What stays (the audit trail, consent history, requests, import
 * records) stays under the user's pseudonym. The receipt records what was done, when and by whom, and holds no
 * personal data: the subject is the pseudonym, an acting user who erases themself is not named.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { conflict, notFound } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { json, toBool, toDate } from '../store/codec.js';
import { users } from '../store/repos/users.js';
import type { Executor } from '../store/store.js';
import type { ProviderDeps } from './provider.js';
import { ERASE_ORDER } from './registry.js';
import { type DataSubject, loadSubject, PSEUDONYM_PEPPER } from './subject.js';

export type EraseDeps = ProviderDeps & Pick<Deps, 'peppers'>;

export interface ErasureReceipt {
  id: string;
  request_id: string | null;
  /** The erased user's pseudonym. */
  subject: string;
  executed_at: string;
  executed_by_type: string;
  /** Rows removed or anonymized, per provider. */
  steps: Record<string, number>;
}

export interface ErasureOutcome {
  /** False when the user was already gone (the request is completed without a second receipt). */
  erased: boolean;
  receipt: ErasureReceipt | null;
}

/** Why an erasure cannot run now (the user owns an organization alone, or is the last platform admin). */
export async function erasureBlocker(
  ex: Executor,
  subject: Pick<DataSubject, 'userId' | 'email'>,
): Promise<string | null> {
  const owned = await users.soleOwnerships(ex, subject.userId);
  if (owned.length)
    return `the user is the only owner of ${owned.length} organization(s) (${owned.join(', ')}); transfer ownership or delete them first`;
  const u = await ex
    .selectFrom('users')
    .select(['is_admin', 'status'])
    .where('id', '=', subject.userId)
    .executeTakeFirst();
  if (u && toBool(u.is_admin) && u.status === 'active') {
    if ((await users.countActiveAdmins(ex, subject.userId)) === 0)
      return 'the user is the last active platform administrator; make another admin first';
  }
  return null;
}

/**
 * Erases the user now. `requestId` names the request being executed (marked completed in the same
 * transaction). A user already erased completes the request and changes nothing else (idempotent); without a
 * request, an unknown user is NOT_FOUND.
 */
export async function executeErasure(
  deps: EraseDeps,
  userId: string,
  ctx: RequestContext,
  opts: { requestId?: string | undefined } = {},
): Promise<ErasureOutcome> {
  // The pepper is read (or made, on first use) through the database itself: before the transaction, which on
  // SQLite holds the only write lock the pepper's first insert would wait for.
  await deps.peppers.get(PSEUDONYM_PEPPER);
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    const subject = await loadSubject(tx, deps, userId);
    const request = opts.requestId
      ? await tx.selectFrom('gdpr_requests').selectAll().where('id', '=', opts.requestId).executeTakeFirst()
      : undefined;
    if (!subject) {
      if (!request) throw notFound(`User ${userId} not found`);
      await tx
        .updateTable('gdpr_requests')
        .set({ status: 'completed', completed_at: now, updated_at: now, last_error: null })
        .where('id', '=', request.id)
        .where('status', 'in', ['pending', 'running'])
        .execute();
      return { erased: false, receipt: null };
    }
    const blocker = await erasureBlocker(tx, subject);
    if (blocker) throw conflict(`The account cannot be erased yet: ${blocker}`);

    const steps: Record<string, number> = {};
    for (const p of ERASE_ORDER) steps[p.name] = await p.erase(tx, subject, deps, now);

    // Whoever erases themself is not named in what stays.
    const self = ctx.actorId === userId;
    const actor: RequestContext = self
      ? { actorId: subject.pseudonym, actorType: ctx.actorType ?? 'user', requestId: ctx.requestId ?? null }
      : ctx;
    const receipt: ErasureReceipt = {
      id: randomUUID(),
      request_id: request?.id ?? null,
      subject: subject.pseudonym,
      executed_at: now.toISOString(),
      executed_by_type: actor.actorType ?? (actor.actorId ? 'user' : 'system'),
      steps,
    };
    await tx
      .insertInto('deletion_receipts')
      .values({
        id: receipt.id,
        request_id: receipt.request_id,
        subject: receipt.subject,
        requested_at: request ? toDate(request.created_at) : null,
        requested_by_type: request?.requested_by_type ?? null,
        executed_by: self ? null : (ctx.actorId ?? null),
        executed_by_type: receipt.executed_by_type,
        steps: json(steps),
        executed_at: now,
      })
      .execute();
    if (request)
      await tx
        .updateTable('gdpr_requests')
        .set({ status: 'completed', completed_at: now, updated_at: now, last_error: null })
        .where('id', '=', request.id)
        .execute();
    await audit(
      tx,
      actor,
      {
        action: 'gdpr.erasure.executed',
        targetType: 'user',
        targetId: subject.pseudonym,
        metadata: { receipt_id: receipt.id, request_id: receipt.request_id, steps },
      },
      now,
    );
    // Relying parties hold copies keyed by the user id: the event tells them which account to erase. It
    // carries the id only — no email or name.
    await emit(
      tx,
      'user.deleted',
      { type: 'user', id: userId },
      { user_id: userId, erased: true, hard: true, receipt_id: receipt.id },
      now,
    );
    return { erased: true, receipt };
  });
}
