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

import { requestByEmail } from '../../core/auth/flows/requests.js';
import type { Container } from '../../core/container.js';
import { CLI_CONTEXT, type RequestContext } from '../../core/events/events.js';
import {
  importMembershipsBatch,
  importOrganizationsBatch,
  importTenantRoles,
} from '../../core/imports/orgs.js';
import { checkpointImportRun, finishImportRun, startImportRun } from '../../core/imports/runs.js';
import {
  AUTH0_SOURCE,
  type BatchCheckpoint,
  type ExternalMember,
  type ExternalOrganization,
  type ExternalPasswordHash,
  type ExternalRole,
  type ExternalUser,
} from '../../core/imports/types.js';
import {
  importPasswordHashesBatch,
  importUsersBatch,
  usersNeedingPassword,
} from '../../core/imports/users.js';
import { readPasswordHashesFile } from './files.js';
import { mapAuth0Member, mapAuth0Organization, mapAuth0Role } from './map-org.js';
import { mapAuth0PasswordHash, mapAuth0User } from './map-user.js';
import { memoryGuard } from './memory.js';
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

type Deps = Pick<Container, 'store' | 'clock' | 'config'>;

/** JS heap in use above which the run asks for a garbage collection between batches (issue 13: < 256 MB RSS). */
const MEMORY_BUDGET_BYTES = 48 * 1024 * 1024;

const CTX: RequestContext = { ...CLI_CONTEXT };

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
  const ctx = { deps, o, report, progress, cp, exportChanged };
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

interface RunCtx {
  deps: Deps;
  o: MigrateOptions;
  report: MigrationReport;
  progress: (phase: Phase, extra?: Partial<Progress>) => void;
  cp: (phase: Phase, position: number) => BatchCheckpoint | undefined;
  exportChanged: () => boolean;
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

function problem(
  c: RunCtx,
  phase: Phase,
  kind: 'failed' | 'warning',
  item: { index?: number; id?: string; email?: string; reason: string },
) {
  const full = { phase, ...item };
  if (kind === 'failed') c.report.fail(full);
  else c.report.warn(full);
  const who = [item.index !== undefined ? `#${item.index}` : '', item.id ?? '', item.email ?? '']
    .filter(Boolean)
    .join(' ');
  c.progress(phase, { problem: { kind, text: `${phase} ${who}: ${item.reason}` } });
}

async function runUsers(c: RunCtx, resumeFrom: number): Promise<void> {
  let from = resumeFrom;
  const { deps, o, report } = c;
  let batch: ExternalUser[] = [];
  let consumed = from;
  const flush = async () => {
    const cp = c.cp('users', consumed);
    if (!batch.length) {
      if (cp) await checkpointImportRun(deps, cp);
      return;
    }
    const outcomes = await importUsersBatch(
      deps,
      AUTH0_SOURCE,
      batch,
      { dryRun: o.dryRun, checkpoint: cp },
      CTX,
    );
    for (const r of outcomes) {
      if (r.status === 'failed')
        problem(c, 'users', 'failed', {
          index: r.index,
          id: r.externalId,
          email: r.email,
          reason: r.reason ?? 'failed',
        });
      else report.count('users', r.status);
    }
    batch = [];
    c.progress('users');
  };
  let first = true;
  for await (const rec of o.source.users()) {
    if (first && from > 0 && c.exportChanged()) {
      // Positions count records of one export; in a new one they mean nothing. Upserts make going over the
      // users again safe (the ones done are `unchanged`).
      c.progress('users', {
        note: 'the checkpoint’s export is gone; going over the new export from the start',
      });
      from = 0;
    }
    first = false;
    if (rec.index <= from) continue;
    report.count('users', 'read');
    consumed = rec.index;
    if (rec.error !== undefined) {
      problem(c, 'users', 'failed', { index: rec.index, reason: rec.error });
    } else {
      const m = mapAuth0User(rec.value, rec.index);
      if ('error' in m) {
        const v = rec.value as { user_id?: unknown; email?: unknown } | null;
        problem(c, 'users', 'failed', {
          index: rec.index,
          id: typeof v?.user_id === 'string' ? v.user_id : undefined,
          email: typeof v?.email === 'string' ? v.email : undefined,
          reason: m.error,
        });
      } else {
        for (const w of m.user.warnings)
          problem(c, 'users', 'warning', { index: rec.index, id: m.user.externalId, reason: w });
        batch.push(m.user);
      }
    }
    if (batch.length >= o.batchSize) await flush();
    o.signal?.throwIfAborted();
  }
  await flush();
}

async function runPasswords(c: RunCtx, from: number): Promise<void> {
  const { deps, o, report } = c;
  let batch: ExternalPasswordHash[] = [];
  let consumed = from;
  const flush = async () => {
    const cp = c.cp('passwords', consumed);
    if (!batch.length) {
      if (cp) await checkpointImportRun(deps, cp);
      return;
    }
    const outcomes = await importPasswordHashesBatch(
      deps,
      AUTH0_SOURCE,
      batch,
      { dryRun: o.dryRun, checkpoint: cp },
      CTX,
    );
    for (const r of outcomes) {
      if (r.status === 'failed')
        problem(c, 'passwords', 'failed', { index: r.index, reason: r.reason ?? 'failed' });
      else if (r.status === 'unmatched')
        problem(c, 'passwords', 'warning', {
          index: r.index,
          reason: r.reason ?? 'no migrated user has this id or email',
        });
      report.count('passwords', r.status);
    }
    batch = [];
    c.progress('passwords');
  };
  for await (const rec of readPasswordHashesFile(o.passwordHashesFile!)) {
    if (rec.index <= from) continue;
    report.count('passwords', 'read');
    consumed = rec.index;
    const m = rec.error !== undefined ? { error: rec.error } : mapAuth0PasswordHash(rec.value, rec.index);
    if ('error' in m) problem(c, 'passwords', 'failed', { index: rec.index, reason: m.error });
    else batch.push(m.hash);
    if (batch.length >= o.batchSize) await flush();
    o.signal?.throwIfAborted();
  }
  await flush();
}

/** Queues the reset mail (the ordinary password-reset flow) for every migrated user still without a password. */
async function runResets(c: RunCtx): Promise<void> {
  const { deps, o, report } = c;
  let after: string | null = null;
  for (;;) {
    const page = await usersNeedingPassword(deps, AUTH0_SOURCE, after, o.batchSize);
    if (!page.length) break;
    for (const u of page) {
      report.count('resets', 'read');
      // A suspended user gets no reset mail: it would only be refused at sign-in.
      if (u.status !== 'active') continue;
      if (!o.dryRun) await requestByEmail(deps, { flow: 'password_reset', email: u.email }, CTX);
      report.count('resets', o.dryRun ? 'would_send' : 'queued');
    }
    after = page.at(-1)!.userId;
    c.progress('resets');
  }
}

/** The tenant's roles with their permissions, mapped (a role that cannot be mapped is reported once). */
async function loadRoles(c: RunCtx, phase: Phase): Promise<Map<string, ExternalRole>> {
  const roles = new Map<string, ExternalRole>();
  if (!c.o.source.roles) return roles;
  for await (const raw of c.o.source.roles()) {
    const m = mapAuth0Role(raw);
    if ('error' in m) {
      if (phase === 'roles') problem(c, 'roles', 'failed', { id: raw.id, reason: m.error });
      continue;
    }
    for (const w of m.warnings)
      if (phase === 'roles') problem(c, 'roles', 'warning', { id: raw.id, reason: w });
    roles.set(m.role.externalId, m.role);
  }
  return roles;
}

async function runRoles(c: RunCtx, from: number): Promise<void> {
  const { deps, o, report } = c;
  const roles = await loadRoles(c, 'roles');
  let index = 0;
  for (const role of roles.values()) {
    index++;
    if (index <= from) continue;
    report.count('roles', 'read');
    let ids: string[] = [];
    const flush = async () => {
      if (!ids.length) return;
      const outcomes = await importTenantRoles(deps, AUTH0_SOURCE, role, ids, { dryRun: o.dryRun }, CTX);
      for (const r of outcomes) {
        if (r.status === 'failed')
          problem(c, 'roles', 'warning', {
            id: r.userExternalId,
            reason: `role ${role.name}: ${r.reason ?? 'failed'}`,
          });
        else report.count('roles', `assignments_${r.status}`);
      }
      ids = [];
    };
    if (o.source.roleUsers)
      for await (const u of o.source.roleUsers(role.externalId)) {
        ids.push(u.user_id);
        if (ids.length >= o.batchSize) await flush();
      }
    await flush();
    const cp = c.cp('roles', index);
    if (cp) await checkpointImportRun(deps, cp);
    c.progress('roles');
  }
}

async function runOrganizations(c: RunCtx, from: number): Promise<void> {
  const { deps, o, report } = c;
  const source = o.source;
  if (!source.organizations) return;
  const roles = await loadRoles(c, 'organizations');
  let batch: ExternalOrganization[] = [];
  let consumed = from;
  let index = 0;
  const flush = async () => {
    if (batch.length) {
      const outcomes = await importOrganizationsBatch(deps, AUTH0_SOURCE, batch, { dryRun: o.dryRun }, CTX);
      for (const r of outcomes) {
        if (r.status === 'failed') {
          problem(c, 'organizations', 'failed', {
            index: r.index,
            id: r.externalId,
            reason: r.reason ?? 'failed',
          });
          continue;
        }
        report.count('organizations', r.status);
        if (source.members) await runMembers(c, r.externalId, roles);
      }
    }
    batch = [];
    const cp = c.cp('organizations', consumed);
    if (cp) await checkpointImportRun(deps, cp);
    c.progress('organizations');
  };
  for await (const raw of source.organizations()) {
    index++;
    if (index <= from) continue;
    report.count('organizations', 'read');
    consumed = index;
    const m = mapAuth0Organization(raw, index);
    if ('error' in m)
      problem(c, 'organizations', 'failed', { index, id: (raw as { id?: string }).id, reason: m.error });
    else {
      for (const w of m.warnings)
        problem(c, 'organizations', 'warning', { index, id: m.org.externalId, reason: w });
      batch.push(m.org);
    }
    // Organizations go in small batches: each is followed by all its members before the checkpoint.
    if (batch.length >= Math.min(o.batchSize, 50)) await flush();
    o.signal?.throwIfAborted();
  }
  await flush();
}

async function runMembers(
  c: RunCtx,
  orgExternalId: string,
  roles: ReadonlyMap<string, ExternalRole>,
): Promise<void> {
  const { deps, o, report } = c;
  let batch: ExternalMember[] = [];
  let index = 0;
  const flush = async () => {
    if (!batch.length) return;
    const outcomes = await importMembershipsBatch(
      deps,
      AUTH0_SOURCE,
      orgExternalId,
      batch,
      roles,
      { dryRun: o.dryRun },
      CTX,
    );
    for (const r of outcomes) {
      if (r.status === 'failed')
        problem(c, 'members', 'failed', {
          index: r.index,
          id: `${orgExternalId}/${r.userExternalId}`,
          reason: r.reason ?? 'failed',
        });
      else report.count('members', r.status);
      for (const w of r.warnings ?? [])
        problem(c, 'members', 'warning', { id: `${orgExternalId}/${r.userExternalId}`, reason: w });
    }
    batch = [];
    c.progress('members');
  };
  for await (const raw of c.o.source.members!(orgExternalId)) {
    index++;
    report.count('members', 'read');
    const m = mapAuth0Member(raw, index);
    if ('error' in m)
      problem(c, 'members', 'failed', { index, id: `${orgExternalId}/${raw.user_id}`, reason: m.error });
    else {
      for (const w of m.warnings)
        problem(c, 'members', 'warning', {
          index,
          id: `${orgExternalId}/${m.member.userExternalId}`,
          reason: w,
        });
      batch.push(m.member);
    }
    if (batch.length >= o.batchSize) await flush();
  }
  await flush();
}
