import type { Executor } from '../store.js';

export interface NewGdprRequest {
  id: string;
  kind: 'export' | 'erasure';
  userId: string;
  status?: 'pending' | 'completed';
  requestedBy: string | null;
  requestedByType: string;
  reason?: string | null;
  format?: string | null;
  dueAt?: Date | null;
}

/** Writes a new export or erasure request; a second open one of the same kind and user fails (unique index). */
export async function insertGdprRequest(ex: Executor, r: NewGdprRequest, now: Date): Promise<void> {
  await ex
    .insertInto('gdpr_requests')
    .values({
      id: r.id,
      kind: r.kind,
      user_id: r.userId,
      status: r.status ?? 'pending',
      requested_by: r.requestedBy,
      requested_by_type: r.requestedByType,
      reason: r.reason ?? null,
      format: r.format ?? null,
      due_at: r.dueAt ?? null,
      expires_at: null,
      job_id: null,
      last_error: null,
      created_at: now,
      updated_at: now,
      completed_at: r.status === 'completed' ? now : null,
      cancelled_at: null,
    })
    .execute();
}
