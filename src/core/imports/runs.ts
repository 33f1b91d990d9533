/**
 * Import runs and their checkpoints. A run over the same inputs (same source, same `inputKey`) that did not
 * finish is resumed: the importer skips the phases it completed and, in the phase it was in, the records its
 * committed batches consumed. Each batch writes the checkpoint in its own transaction (./users.ts, ./orgs.ts),
 * so what the checkpoint says was done is exactly what was committed, whenever the process died.
 */
import { randomUUID } from 'node:crypto';
import { type ImportRun, importRuns } from '../store/repos/imports.js';
import type { BatchCheckpoint, ImportDeps } from './types.js';

export interface StartedRun {
  run: ImportRun;
  /** Whether an unfinished run was picked up (its phase and position say where to go on). */
  resumed: boolean;
}

/**
 * Resumes the unfinished run over these inputs, or starts a new one (`restart`: any unfinished one is
 * abandoned first, and the new run starts from the beginning).
 */
export async function startImportRun(
  deps: ImportDeps,
  source: string,
  inputKey: string,
  opts: { restart: boolean; firstPhase: string },
): Promise<StartedRun> {
  return deps.store.transaction(async (tx) => {
    const now = deps.clock.now();
    if (opts.restart) await importRuns.abandon(tx, source, inputKey, now);
    else {
      const run = await importRuns.findResumable(tx, source, inputKey);
      if (run) return { run, resumed: true };
    }
    const run = await importRuns.insert(
      tx,
      { id: randomUUID(), source, inputKey, phase: opts.firstPhase },
      now,
    );
    return { run, resumed: false };
  });
}

/** Records progress that no batch wrote (a phase begun or skipped). */
export async function checkpointImportRun(deps: ImportDeps, cp: BatchCheckpoint): Promise<void> {
  await importRuns.checkpoint(deps.store.db, cp.runId, cp, deps.clock.now());
}

export async function finishImportRun(
  deps: ImportDeps,
  runId: string,
  state: 'completed' | 'failed',
  stats: Record<string, unknown>,
): Promise<void> {
  await importRuns.finish(deps.store.db, runId, state, stats, deps.clock.now());
}
