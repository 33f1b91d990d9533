/**
 * The migration run: reads a source (live tenant or files), maps each record, hands batches to the core
 * importers (src/core/imports/), and keeps the report. Phases, in order:
 *
 *   users → passwords (the hash file) → resets (reset mail for users still without a password) → roles
 *   (tenant-level role holders) → organizations (each with its members)
 *
 * Every batch commits with the run's checkpoint (phase, records consumed), so a run killed at any point is
 * resumed by the next run over the same inputs: completed phases are skipped, and the current one skips the
 * records its committed batches consumed. Because the importers upsert by external id, going over a record
 * twice is harmless anyway; the checkpoint is what makes a resumed run of a million users quick.
 */

import { checkpointImportRun, finishImportRun, startImportRun } from '../../core/imports/runs.js';
import { AUTH0_SOURCE, type BatchCheckpoint } from '../../core/imports/types.js';
import { memoryGuard } from './memory.js';
import type { Deps, RunCtx } from './phase.js';
import { runOrganizations, runRoles } from './phase-orgs.js';
import { runPasswords, runResets, runUsers } from './phase-users.js';
import { type Counts, MigrationReport, PHASES, type Phase } from './report.js';
import type { Auth0Source } from './types.js';

export type OnlyWhat = 'users' | 'orgs' | 'roles';

export interface MigrateOptions {
  source: Auth0Source;
  passwordHashesFile?: string | undefined;
  only?: OnlyWhat | undefined;
  batchSize: number;
  dryRun: boolean;
  /** Ignore the checkpoint of an unfinished run and start over. */
  restart: boolean;
  /** Queue the password-reset mail for users left without a password. */
  sendResetEmail: boolean;
  reportFile?: string | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface Progress {
  phase: Phase;
  /** Records of this phase handled so far (this run and, when resumed, the run before). */
  done: number;
  failed: number;
  /** Failed records and warnings as they happen (the live display lists them). */
  problem?: { kind: 'failed' | 'warning'; text: string } | undefined;
  note?: string | undefined;
}

/** JS heap in use above which the run asks for a garbage collection between batches (issue 13: < 256 MB RSS). */
const MEMORY_BUDGET_BYTES = 48 * 1024 * 1024;

/** Which phases a run does, from `--only`, what the source offers and the inputs given. */
export function phasesFor(
  o: Pick<MigrateOptions, 'only' | 'source' | 'passwordHashesFile' | 'sendResetEmail'>,
): Phase[] {
  const live = !!o.source.organizations;
  const want = new Set<Phase>();
  if (!o.only || o.only === 'users') {
    want.add('users');
    if (o.passwordHashesFile) want.add('passwords');
    if (o.sendResetEmail) want.add('resets');
  }
  if ((!o.only || o.only === 'roles') && live) want.add('roles');
  if ((!o.only || o.only === 'orgs') && live) {
    want.add('organizations');
    want.add('members');
  }
  return PHASES.filter((p) => want.has(p));
}

export async function migrateAuth0(deps: Deps, o: MigrateOptions): Promise<MigrationReport> {
  const report = new MigrationReport(o.source.label, o.dryRun, o.reportFile);
  const phases = phasesFor(o);
  const inputKey = `${await o.source.inputKey()}|${phases.join(',')}`;
  let runId: string | null = null;
  // The live tenant's export file: kept in the checkpoint so a resumed run reads the same file.
  let savedExport: { jobId?: string | undefined } | undefined;
  // Where a phase that pages by key (resets) got to, kept in the checkpoint beside the position.
  const cursors: Record<string, string> = {};
  let resumeAt: { phase: string; position: number } | null = null;
  if (!o.dryRun) {
    const started = await startImportRun(deps, AUTH0_SOURCE, inputKey, {
      restart: o.restart,
      firstPhase: phases[0] ?? 'users',
    });
    runId = started.run.id;
    if (started.resumed) {
      report.resumed = true;
      resumeAt = { phase: started.run.phase, position: started.run.position };
      report.restore((started.run.stats['counts'] ?? {}) as Partial<Record<Phase, Counts>>);
      savedExport = started.run.stats['auth0Export'] as typeof savedExport;
      Object.assign(cursors, started.run.stats['cursors'] ?? {});
      if (savedExport && o.source.resumeExport) o.source.resumeExport(savedExport);
    }
  }
  const keepFlat = memoryGuard(MEMORY_BUDGET_BYTES);
  const progress = (phase: Phase, extra: Partial<Progress> = {}) => {
    keepFlat();
    o.onProgress?.({
      phase,
      done: report.counts[phase]?.['read'] ?? 0,
      failed: report.counts[phase]?.['failed'] ?? 0,
      ...extra,
    });
  };
  const cp = (phase: Phase, position: number): BatchCheckpoint | undefined =>
    runId
      ? {
          runId,
          phase,
          position,
          stats: {
            counts: report.counts,
            cursors,
            ...(o.source.exportState ? { auth0Export: o.source.exportState() } : {}),
          },
        }
      : undefined;
  const startFrom = (phase: Phase): number | null => {
    if (!resumeAt) return 0;
    const at = PHASES.indexOf(resumeAt.phase as Phase);
    const here = PHASES.indexOf(phase);
    if (here < at) return null; // finished before the interruption
    return here === at ? resumeAt.position : 0;
  };
  /** Whether the users come from another export than the checkpoint's (its file and job were gone). */
  const exportChanged = () =>
    !!savedExport && !!o.source.exportState && o.source.exportState().jobId !== savedExport.jobId;
  const ctx = { deps, o, report, progress, cp, exportChanged, cursors };
  try {
    for (const phase of phases) {
      o.signal?.throwIfAborted();
      const from = startFrom(phase);
      if (from === null) continue;
      if (runId) await checkpointImportRun(deps, cp(phase, from)!);
      progress(phase, { note: from ? `resuming after record ${from}` : undefined });
      await RUNNERS[phase](ctx, from);
      progress(phase);
    }
    if (runId) await finishImportRun(deps, runId, 'completed', { counts: report.counts });
  } catch (err) {
    // The checkpoint stays: the next run resumes. Only a run that finished is marked so.
    await report.finish();
    throw err;
  }
  await report.finish();
  return report;
}

const RUNNERS: Record<Phase, (c: RunCtx, from: number) => Promise<void>> = {
  users: runUsers,
  passwords: runPasswords,
  resets: runResets,
  roles: runRoles,
  organizations: runOrganizations,
  members: async () => {
    // Members go with their organization (runOrganizations), so a checkpoint covers both.
  },
};
