/** Records of scheduled job runs (`janua cron list`), and the unique (job, slot) that makes a slot run once. */
import type { Selectable } from 'kysely';
import { toDate, toDateOrNull } from '../codec.js';
import type { CronRunsTable } from '../schema.js';
import type { Executor } from '../store.js';
import { deletePicked } from './delete-picked.js';

export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type RunTrigger = 'schedule' | 'manual';

export interface CronRun {
  id: string;
  job: string;
  /** The schedule's fire time this run is for; null for a run started by hand. */
  slot: Date | null;
  trigger: RunTrigger;
  node: string;
  outcome: RunOutcome;
  rowsAffected: number;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

function decode(r: Selectable<CronRunsTable>): CronRun {
  return {
    id: r.id,
    job: r.job,
    slot: toDateOrNull(r.slot),
    trigger: r.trigger as RunTrigger,
    node: r.node,
    outcome: r.outcome as RunOutcome,
    rowsAffected: Number(r.rows_affected),
    error: r.error,
    startedAt: toDate(r.started_at),
    finishedAt: toDateOrNull(r.finished_at),
  };
}

export const cronRuns = {
  /**
   * Records the start of a run. For a scheduled slot that another node has already run (or is running), the
   * unique (job, slot) index refuses it: returns false and records nothing.
   */
  async start(
    ex: Executor,
    run: Omit<CronRun, 'finishedAt' | 'rowsAffected' | 'error' | 'outcome'>,
  ): Promise<boolean> {
    const rows = await ex
      .insertInto('cron_runs')
      .values({
        id: run.id,
        job: run.job,
        slot: run.slot,
        trigger: run.trigger,
        node: run.node,
        outcome: 'running',
        rows_affected: 0,
        error: null,
        started_at: run.startedAt,
        finished_at: null,
      })
      .onConflict((oc) => oc.columns(['job', 'slot']).doNothing())
      .returning('id')
      .execute();
    return rows.length === 1;
  },

  async finish(
    ex: Executor,
    id: string,
    outcome: 'succeeded' | 'failed',
    rowsAffected: number,
    error: string | null,
    now: Date,
  ): Promise<void> {
    await ex
      .updateTable('cron_runs')
      .set({ outcome, rows_affected: rowsAffected, error, finished_at: now })
      .where('id', '=', id)
      .execute();
  },

  /**
   * Runs of `job` still marked running, other than `except`: called by the holder of the job's lease, so no
   * such run is really in progress — its node died. They are marked interrupted.
   */
  async markInterrupted(ex: Executor, job: string, except: string, now: Date): Promise<number> {
    const res = await ex
      .updateTable('cron_runs')
      .set({
        outcome: 'interrupted',
        finished_at: now,
        error: 'the node running it stopped before it finished',
      })
      .where('job', '=', job)
      .where('outcome', '=', 'running')
      .where('id', '!=', except)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  },

  /** The latest run of each job. */
  async latest(ex: Executor): Promise<Map<string, CronRun>> {
    const rows = await ex
      .selectFrom('cron_runs as r')
      .selectAll('r')
      .where(({ eb, selectFrom }) =>
        eb(
          'r.started_at',
          '=',
          selectFrom('cron_runs as r2')
            .select((e) => e.fn.max('r2.started_at').as('m'))
            .whereRef('r2.job', '=', 'r.job'),
        ),
      )
      .execute();
    const out = new Map<string, CronRun>();
    for (const r of rows.map(decode)) out.set(r.job, r);
    return out;
  },

  async recent(ex: Executor, job: string, limit: number): Promise<CronRun[]> {
    const rows = await ex
      .selectFrom('cron_runs')
      .selectAll()
      .where('job', '=', job)
      .orderBy('started_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map(decode);
  },

  async deleteBefore(ex: Executor, before: Date, limit: number): Promise<number> {
    return deletePicked(ex, 'cron_runs', 'id', (q) =>
      q.where('started_at', '<', before).where('outcome', '!=', 'running').limit(limit),
    );
  },
};
