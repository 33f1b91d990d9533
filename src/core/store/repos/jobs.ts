/**
 * The durable job queue's table. A job is claimable while its state is pending, failed (waiting for a retry)
 * or running with an expired lease, and its `run_at` has come: claiming sets `run_at` to the lease's expiry, so
 * one partial index on (kind, run_at) serves every case. The state list is written as literals, never bound
 * parameters, so both planners can prove the partial index's predicate from the query.
 */
import { type Selectable, sql } from 'kysely';
import { json, toDate, toDateOrNull, toJson } from '../codec.js';
import type { Dialect } from '../migrations/types.js';
import type { JobsTable } from '../schema.js';
import type { Executor } from '../store.js';
import { deletePicked } from './delete-picked.js';

export const JOB_STATES = ['pending', 'running', 'failed', 'succeeded', 'dead', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Job {
  id: string;
  kind: string;
  payload: unknown;
  state: JobState;
  /** Pending/failed: when it is due. Running: when its lease expires. */
  runAt: Date;
  /** Claims so far, the current one included. */
  attempts: number;
  maxAttempts: number;
  idempotencyKey: string | null;
  claimId: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface NewJob {
  id: string;
  kind: string;
  payload: unknown;
  runAt: Date;
  maxAttempts: number;
  idempotencyKey: string | null;
}

/** The claimable states, as literals (see the module comment). */
const CLAIMABLE = sql<boolean>`state in ('pending', 'failed', 'running')`;

function decode(r: Selectable<JobsTable>): Job {
  return {
    id: r.id,
    kind: r.kind,
    payload: toJson(r.payload),
    state: r.state as JobState,
    runAt: toDate(r.run_at),
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    idempotencyKey: r.idempotency_key,
    claimId: r.claim_id,
    lastError: r.last_error,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    finishedAt: toDateOrNull(r.finished_at),
  };
}

export interface JobFilter {
  kind?: string | undefined;
  state?: JobState | undefined;
  limit: number;
}

export const jobs = {
  /**
   * Inserts jobs; one whose (kind, idempotency key) already exists is left as it is. Returns the ids of the
   * rows actually inserted.
   */
  async insert(ex: Executor, rows: readonly NewJob[], now: Date): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const inserted = await ex
      .insertInto('jobs')
      .values(
        rows.map((j) => ({
          id: j.id,
          kind: j.kind,
          payload: json(j.payload ?? {}),
          state: 'pending',
          run_at: j.runAt,
          attempts: 0,
          max_attempts: j.maxAttempts,
          idempotency_key: j.idempotencyKey,
          claim_id: null,
          last_error: null,
          created_at: now,
          updated_at: now,
          finished_at: null,
        })),
      )
      .onConflict((oc) => oc.columns(['kind', 'idempotency_key']).doNothing())
      .returning('id')
      .execute();
    return new Set(inserted.map((r) => r.id));
  },

  async findByIdempotencyKey(ex: Executor, kind: string, key: string): Promise<Job | undefined> {
    const row = await ex
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', kind)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row && decode(row);
  },

  async findById(ex: Executor, id: string): Promise<Job | undefined> {
    const row = await ex.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decode(row);
  },

  /** Whether a job of `kind` is due now (a cheap read; workers look before they write a claim). */
  async anyDue(ex: Executor, kind: string, now: Date): Promise<boolean> {
    const row = await ex
      .selectFrom('jobs')
      .select('id')
      .where('kind', '=', kind)
      .where(CLAIMABLE)
      .where('run_at', '<=', now)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  },

  /**
   * Claims up to `limit` due jobs of one kind in a single statement: state running, one more attempt, a new
   * claim id, `run_at` = the lease's end. On Postgres the candidate rows are locked with SKIP LOCKED, so
   * workers on other nodes claim other rows instead of waiting; on SQLite the statement holds the database's
   * one write lock, which serializes claims.
   */
  async claim(
    ex: Executor,
    dialect: Dialect,
    kind: string,
    limit: number,
    now: Date,
    leaseUntil: Date,
    claimId: string,
  ): Promise<Job[]> {
    let due = ex
      .selectFrom('jobs')
      .select('id')
      .where('kind', '=', kind)
      .where(CLAIMABLE)
      .where('run_at', '<=', now)
      .orderBy('run_at')
      .limit(limit);
    if (dialect === 'postgres') due = due.forUpdate().skipLocked();
    const rows = await ex
      .updateTable('jobs')
      .set({
        state: 'running',
        attempts: sql<number>`attempts + 1`,
        claim_id: claimId,
        run_at: leaseUntil,
        updated_at: now,
      })
      .where('id', 'in', due)
      .returningAll()
      .execute();
    return rows.map(decode).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  },

  /** Marks finished jobs succeeded; only rows still held by one of the given claims change. */
  async succeed(
    ex: Executor,
    ids: readonly string[],
    claimIds: readonly string[],
    now: Date,
  ): Promise<number> {
    if (ids.length === 0) return 0;
    const res = await ex
      .updateTable('jobs')
      .set({ state: 'succeeded', finished_at: now, updated_at: now, claim_id: null, last_error: null })
      .where('id', 'in', ids)
      .where('claim_id', 'in', claimIds)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  },

  /**
   * Ends a failed attempt: back to `failed` with the next due time, or `dead` when `retryAt` is null. Only if
   * the job is still held by this claim (else another node took it over after our lease ran out).
   */
  async fail(
    ex: Executor,
    id: string,
    claimId: string,
    now: Date,
    error: string,
    retryAt: Date | null,
  ): Promise<boolean> {
    const res = await ex
      .updateTable('jobs')
      .set(
        retryAt
          ? { state: 'failed', run_at: retryAt, claim_id: null, last_error: error, updated_at: now }
          : { state: 'dead', claim_id: null, last_error: error, updated_at: now, finished_at: now },
      )
      .where('id', '=', id)
      .where('claim_id', '=', claimId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  /** Extends the leases of jobs still running under these claims. */
  async extend(
    ex: Executor,
    ids: readonly string[],
    claimIds: readonly string[],
    until: Date,
  ): Promise<void> {
    if (ids.length === 0) return;
    await ex
      .updateTable('jobs')
      .set({ run_at: until })
      .where('id', 'in', ids)
      .where('claim_id', 'in', claimIds)
      .where('state', '=', 'running')
      .execute();
  },

  /**
   * Gives a claimed job back without counting the attempt (a stopping node): due at once for another worker.
   */
  async release(ex: Executor, id: string, claimId: string, now: Date): Promise<boolean> {
    const res = await ex
      .updateTable('jobs')
      .set({
        state: sql<string>`case when attempts > 1 then 'failed' else 'pending' end`,
        attempts: sql<number>`attempts - 1`,
        claim_id: null,
        run_at: now,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('claim_id', '=', claimId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  },

  async list(ex: Executor, f: JobFilter): Promise<Job[]> {
    let q = ex.selectFrom('jobs').selectAll();
    if (f.kind) q = q.where('kind', '=', f.kind);
    if (f.state) q = q.where('state', '=', f.state);
    const rows = await q.orderBy('updated_at', 'desc').orderBy('id').limit(f.limit).execute();
    return rows.map(decode);
  },

  async findMany(ex: Executor, ids: readonly string[]): Promise<Job[]> {
    if (ids.length === 0) return [];
    const rows = await ex.selectFrom('jobs').selectAll().where('id', 'in', ids).execute();
    return rows.map(decode);
  },

  /** Failed or dead jobs back to pending, due now, with a fresh attempt budget. */
  async retry(ex: Executor, ids: readonly string[], now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await ex
      .updateTable('jobs')
      .set({ state: 'pending', attempts: 0, run_at: now, updated_at: now, finished_at: null, claim_id: null })
      .where('id', 'in', ids)
      .where('state', 'in', ['failed', 'dead', 'cancelled'])
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  },

  /**
   * Cancels jobs that have not finished. A running job's claim is dropped, so its worker's result is not
   * recorded (the handler itself runs to its end).
   */
  async cancel(ex: Executor, ids: readonly string[], now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await ex
      .updateTable('jobs')
      .set({ state: 'cancelled', claim_id: null, updated_at: now, finished_at: now })
      .where('id', 'in', ids)
      .where('state', 'in', ['pending', 'failed', 'running', 'dead'])
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  },

  /** Jobs per kind and state (metrics, `janua jobs list` summaries). */
  async counts(ex: Executor): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    const rows = await ex
      .selectFrom('jobs')
      .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy(['kind', 'state'])
      .execute();
    return rows.map((r) => ({ kind: r.kind, state: r.state as JobState, count: Number(r.count) }));
  },

  /**
   * Jobs waiting, running, failed (to be retried) or dead, per kind and state: the queue's depth (metrics).
   * Succeeded and cancelled jobs, kept for a while only to be listed, are not counted.
   */
  async depth(ex: Executor): Promise<Array<{ kind: string; state: JobState; count: number }>> {
    const rows = await ex
      .selectFrom('jobs')
      .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('count')])
      .where('state', 'in', ['pending', 'running', 'failed', 'dead'])
      .groupBy(['kind', 'state'])
      .execute();
    return rows.map((r) => ({ kind: r.kind, state: r.state as JobState, count: Number(r.count) }));
  },

  /** Deletes up to `limit` jobs in `states` last changed before `before`; returns how many. */
  async deleteFinished(
    ex: Executor,
    states: readonly JobState[],
    before: Date,
    limit: number,
  ): Promise<number> {
    return deletePicked(ex, 'jobs', 'id', (q) =>
      q.where('state', 'in', states).where('updated_at', '<', before).limit(limit),
    );
  },
};
