/**
 * The durable job queue's write side: work that must happen after a change but not inside the request (mail,
 * webhook deliveries, exports) is enqueued in the change's own transaction, so a job exists exactly when its
 * change committed. Workers (./workers.ts) claim and run jobs; operators see and steer them with `janua jobs`.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import { JanuaError, notFound, validation } from '../errors.js';
import { type Job, type JobFilter, type JobState, jobs } from '../store/repos/jobs.js';
import { afterCommit, type Executor, type Store } from '../store/store.js';
import { jobSignals } from './signals.js';

/** Postgres channel on which an enqueue tells every node's workers that a kind has work (delivered on commit). */
export const JOBS_CHANNEL = 'janua_jobs';
export const DEFAULT_MAX_ATTEMPTS = 10;
const KIND = /^[a-z][a-z0-9_.-]{0,63}$/;

export interface EnqueueOptions {
  /** Not before this time (default: now). */
  runAt?: Date;
  /** At most one job per (kind, key) ever exists: a second enqueue with the same key returns the first. */
  idempotencyKey?: string;
  /** Attempts before the job is marked dead (default: the kind's, else 10). */
  maxAttempts?: number;
}

export interface EnqueueItem extends EnqueueOptions {
  kind: string;
  payload?: unknown;
}

export interface Enqueued {
  id: string;
  /** False when the idempotency key named an existing job (whose id this is). */
  created: boolean;
}

function check(item: EnqueueItem): void {
  if (!KIND.test(item.kind)) throw validation(`invalid job kind "${item.kind}"`);
  if (item.maxAttempts !== undefined && (!Number.isInteger(item.maxAttempts) || item.maxAttempts < 1))
    throw validation('maxAttempts must be a whole number of at least 1');
  if (
    item.idempotencyKey !== undefined &&
    (item.idempotencyKey.length === 0 || item.idempotencyKey.length > 200)
  )
    throw validation('an idempotency key is 1 to 200 characters');
}

/**
 * Enqueues jobs in the caller's transaction (or on their own when `ex` is the database). On Postgres a
 * NOTIFY in the same transaction wakes the workers of every node once it commits; in this process the
 * workers are woken after the commit.
 */
export async function enqueueMany(
  ex: Executor,
  deps: { store: Pick<Store, 'dialect'>; clock: Clock },
  items: readonly EnqueueItem[],
): Promise<Enqueued[]> {
  if (items.length === 0) return [];
  for (const item of items) check(item);
  const now = deps.clock.now();
  const rows = items.map((i) => ({
    id: randomUUID(),
    kind: i.kind,
    payload: i.payload ?? {},
    runAt: i.runAt ?? now,
    maxAttempts: i.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    idempotencyKey: i.idempotencyKey ?? null,
  }));
  const inserted = await jobs.insert(ex, rows, now);
  const out: Enqueued[] = [];
  for (const r of rows) {
    if (inserted.has(r.id)) out.push({ id: r.id, created: true });
    else {
      const existing = await jobs.findByIdempotencyKey(ex, r.kind, r.idempotencyKey!);
      if (!existing) throw new JanuaError('INTERNAL_ERROR', `job ${r.kind} was neither inserted nor found`);
      out.push({ id: existing.id, created: false });
    }
  }
  const kinds = [...new Set(rows.filter((r) => inserted.has(r.id)).map((r) => r.kind))];
  if (kinds.length) {
    if (deps.store.dialect === 'postgres')
      for (const kind of kinds) await sql`select pg_notify(${JOBS_CHANNEL}, ${kind})`.execute(ex);
    afterCommit(ex, () => {
      for (const kind of kinds) jobSignals.wake(kind);
    });
  }
  return out;
}

export async function enqueue(
  ex: Executor,
  deps: { store: Pick<Store, 'dialect'>; clock: Clock },
  kind: string,
  payload: unknown = {},
  options: EnqueueOptions = {},
): Promise<Enqueued> {
  const [one] = await enqueueMany(ex, deps, [{ kind, payload, ...options }]);
  return one!;
}

/** A job as operators see it (`janua jobs list --json`). */
export function presentJob(j: Job) {
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    run_at: j.runAt.toISOString(),
    idempotency_key: j.idempotencyKey,
    last_error: j.lastError,
    created_at: j.createdAt.toISOString(),
    updated_at: j.updatedAt.toISOString(),
    finished_at: j.finishedAt?.toISOString() ?? null,
    payload: j.payload,
  };
}
export type PresentedJob = ReturnType<typeof presentJob>;

type QueueDeps = { store: Store; clock: Clock };

export async function listJobs(deps: Pick<QueueDeps, 'store'>, filter: JobFilter): Promise<Job[]> {
  return jobs.list(deps.store.db, filter);
}

export async function jobCounts(deps: Pick<QueueDeps, 'store'>) {
  return jobs.counts(deps.store.db);
}

export interface BulkOutcome {
  changed: string[];
  /** Ids that exist but are in a state the action does not apply to, with that state. */
  skipped: Array<{ id: string; state: JobState }>;
  missing: string[];
}

async function bulk(
  deps: QueueDeps,
  ids: readonly string[],
  action: (ex: Executor, ids: readonly string[], now: Date) => Promise<string[]>,
): Promise<BulkOutcome> {
  const unique = [...new Set(ids)];
  return deps.store.transaction(async (tx) => {
    const found = await jobs.findMany(tx, unique);
    const byId = new Map(found.map((j) => [j.id, j]));
    const changed = new Set(await action(tx, unique, deps.clock.now()));
    const kinds = new Set(found.filter((j) => changed.has(j.id)).map((j) => j.kind));
    afterCommit(tx, () => {
      for (const kind of kinds) jobSignals.wake(kind);
    });
    return {
      changed: unique.filter((id) => changed.has(id)),
      skipped: unique
        .filter((id) => byId.has(id) && !changed.has(id))
        .map((id) => ({ id, state: byId.get(id)!.state })),
      missing: unique.filter((id) => !byId.has(id)),
    };
  });
}

/** Failed, dead or cancelled jobs back to pending, due now, with a fresh attempt budget. */
export function retryJobs(deps: QueueDeps, ids: readonly string[]): Promise<BulkOutcome> {
  return bulk(deps, ids, jobs.retry);
}

/** Cancels jobs that have not succeeded. */
export function cancelJobs(deps: QueueDeps, ids: readonly string[]): Promise<BulkOutcome> {
  return bulk(deps, ids, jobs.cancel);
}

export async function getJob(deps: Pick<QueueDeps, 'store'>, id: string): Promise<Job> {
  const job = await jobs.findById(deps.store.db, id);
  if (!job) throw notFound(`no job ${id}`);
  return job;
}
