/**
 * One batch of an import in one transaction, with the run's checkpoint in that same transaction (so the batch
 * and the record of having done it commit together); a dry run reads through the store and writes nothing.
 * When the database refuses a batch, its records are retried one per transaction so that only the bad one
 * fails, and the checkpoint is written after them.
 */
import type { Transaction } from 'kysely';
import { importRuns } from '../store/repos/imports.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/store.js';
import type { ImportBatchOptions, ImportDeps } from './types.js';

/** `tx` is null in a dry run: read through `ex`, write nothing. */
export type BatchWork<T> = (ex: Executor, tx: Transaction<Database> | null) => Promise<T>;

export async function inBatch<T>(deps: ImportDeps, opts: ImportBatchOptions, work: BatchWork<T>): Promise<T> {
  if (opts.dryRun) return work(deps.store.db, null);
  return deps.store.transaction(async (tx) => {
    const result = await work(tx, tx);
    if (opts.checkpoint) await writeCheckpoint(deps, tx, opts);
    return result;
  });
}

async function writeCheckpoint(deps: ImportDeps, ex: Executor, opts: ImportBatchOptions): Promise<void> {
  const c = opts.checkpoint!;
  await importRuns.checkpoint(
    ex,
    c.runId,
    { phase: c.phase, position: c.position, stats: c.stats },
    deps.clock.now(),
  );
}

/**
 * Runs `run` over the whole batch; if that throws, over each item alone (without the checkpoint), turning an
 * item that still throws into `fail(item, reason)`; then writes the checkpoint by itself.
 */
export async function withIsolation<I, O>(
  deps: ImportDeps,
  opts: ImportBatchOptions,
  items: readonly I[],
  run: (items: readonly I[], opts: ImportBatchOptions) => Promise<O[]>,
  fail: (item: I, reason: string) => O,
): Promise<O[]> {
  try {
    return await run(items, opts);
  } catch (err) {
    const single = { dryRun: opts.dryRun };
    const out: O[] = [];
    if (items.length === 1) out.push(fail(items[0]!, `the database refused it: ${(err as Error).message}`));
    else for (const item of items) out.push(...(await withIsolation(deps, single, [item], run, fail)));
    if (opts.checkpoint && !opts.dryRun)
      await deps.store.transaction((tx) => writeCheckpoint(deps, tx, opts));
    return out;
  }
}

export function byIndex<T extends { index: number }>(items: T[]): T[] {
  return items.sort((a, b) => a.index - b.index);
}
