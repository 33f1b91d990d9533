/**
 * The organization phases of a migration run: roles (tenant-level role holders, recorded on the users) and
 * organizations, each followed by its members (their roles become the organization's roles).
 */
import {
  importMembershipsBatch,
  importOrganizationsBatch,
  importTenantRoles,
} from '../../core/imports/orgs.js';
import { checkpointImportRun } from '../../core/imports/runs.js';
import {
  AUTH0_SOURCE,
  type ExternalMember,
  type ExternalOrganization,
  type ExternalRole,
} from '../../core/imports/types.js';
import { mapAuth0Member, mapAuth0Organization, mapAuth0Role } from './map-org.js';
import { CTX, problem, type RunCtx } from './phase.js';
import type { Phase } from './report.js';

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

export async function runRoles(c: RunCtx, from: number): Promise<void> {
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

export async function runOrganizations(c: RunCtx, from: number): Promise<void> {
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
