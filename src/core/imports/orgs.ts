/**
 * Organizations, their custom roles and memberships from another system (issue 13), upserted by the source's
 * ids through `import_records`:
 * - kind `organization`: external id = the source's organization id;
 * - kind `role`: `<orgExternalId>:<roleId>` (one custom role per organization and source role) or
 *   `<orgExternalId>:<roleId>+<roleId>…` (a composite for members holding several roles; see ./org-roles.ts);
 * - kind `membership`: `<orgExternalId>:<userExternalId>`, local id = the Janua user; its digest is the role the
 *   import last gave, so a later run changes a membership only when the source's answer changed — a role or
 *   removal made in Janua since then is kept.
 * A record whose digest is unchanged writes nothing (a re-run is a no-op). Each batch is one transaction with
 * the domain events the organization service emits for the same changes (organization.created/updated,
 * organization.role.created/updated, organization.member.added/role_changed), audit rows (one per organization
 * and role; one per batch for memberships, as bulk user imports do) and the run's checkpoint.
 *
 * Owners: the source has no owner concept (Auth0 does not), so an imported organization has no owner unless a
 * source role is named `owner`; platform admins manage it and hand it over (`janua orgs transfer-ownership`).
 * The import never takes the owner role from an organization's last owner.
 */
import { randomUUID } from 'node:crypto';
import { audit, type DomainEvent, emitMany, type RequestContext } from '../events/events.js';
import type { Organization } from '../orgs/model.js';
import { SLUG_PATTERN } from '../orgs/model.js';
import { lockOrganization, record } from '../orgs/service.js';
import { type ImportRecord, importRecords } from '../store/repos/imports.js';
import { orgImports } from '../store/repos/org-imports.js';
import { members, type OrganizationPatch, organizations } from '../store/repos/organizations.js';
import type { Executor } from '../store/store.js';
import { breaksTextRule, nulPath, printable } from '../text.js';
import { byIndex, inBatch, withIsolation } from './batch-isolation.js';
import { customRoleNames, customRoleSpec, hashOf, planMemberRole, stableHash } from './org-roles.js';
import { RoleEnsurer } from './role-ensurer.js';
import type {
  ExternalMember,
  ExternalOrganization,
  ExternalRole,
  ImportBatchOptions,
  ImportDeps,
  MemberImportOutcome,
  OrgImportOutcome,
} from './types.js';

export { importTenantRoles, type TenantRoleOutcome } from './tenant-roles.js';

/** Why a mapped organization cannot be written (Janua's own rules, checked again here), or undefined. */
function orgProblem(o: ExternalOrganization): string | undefined {
  if (!o.externalId || breaksTextRule(o.externalId, 'single-line'))
    return 'the external id is empty or has control characters';
  const name = o.name.trim();
  if (!name || name.length > 200) return 'the name must be 1–200 characters';
  if (breaksTextRule(name, 'single-line')) return 'the name must not contain control characters';
  if (!SLUG_PATTERN.test(o.slug))
    return `"${printable(o.slug)}" is not a slug (2–63 lower-case letters, digits, single hyphens)`;
  if (o.logoUrl !== null && (o.logoUrl.length > 2048 || breaksTextRule(o.logoUrl, 'single-line')))
    return 'the logo URL must be at most 2048 characters without control characters';
  if (nulPath(o.metadata) !== undefined) return 'the metadata must not contain the NUL character';
  return undefined;
}

/**
 * The slugs an organization may take, in order: the one it wants, then with a hash of its external id
 * (8, then 16 hex digits) — the same for the same input on every run.
 */
export function slugCandidates(o: Pick<ExternalOrganization, 'slug' | 'externalId'>): string[] {
  const hash = hashOf(o.externalId, 16);
  return [o.slug, ...[8, 16].map((n) => `${o.slug.slice(0, 62 - n).replace(/-+$/, '')}-${hash.slice(0, n)}`)];
}

/**
 * Creates or updates organizations by external id. A slug taken by an organization this source record did not
 * make gets the first free of slugCandidates; an organization whose current slug is one of its candidates
 * keeps it. Outcomes come back in input (`index`) order.
 */
export async function importOrganizationsBatch(
  deps: ImportDeps,
  source: string,
  orgs: readonly ExternalOrganization[],
  opts: ImportBatchOptions,
  ctx: RequestContext,
): Promise<OrgImportOutcome[]> {
  const out: OrgImportOutcome[] = [];
  const valid: ExternalOrganization[] = [];
  const seen = new Set<string>();
  for (const o of orgs) {
    const reason = orgProblem(o) ?? (seen.has(o.externalId) ? 'duplicate of an earlier record' : undefined);
    seen.add(o.externalId);
    if (reason) out.push({ index: o.index, externalId: o.externalId, status: 'failed', reason });
    else valid.push({ ...o, name: o.name.trim() });
  }
  const run = (items: readonly ExternalOrganization[], o: ImportBatchOptions) =>
    inBatch(deps, o, (ex, tx) => writeOrganizations(deps, source, items, ex, tx !== null, ctx));
  const fail = (o: ExternalOrganization, reason: string): OrgImportOutcome => ({
    index: o.index,
    externalId: o.externalId,
    status: 'failed',
    reason,
  });
  out.push(...(await withIsolation(deps, opts, valid, run, fail)));
  return byIndex(out);
}

async function writeOrganizations(
  deps: ImportDeps,
  source: string,
  items: readonly ExternalOrganization[],
  ex: Executor,
  write: boolean,
  ctx: RequestContext,
): Promise<OrgImportOutcome[]> {
  const now = deps.clock.now();
  const records = await importRecords.findMany(
    ex,
    source,
    'organization',
    items.map((o) => o.externalId),
  );
  const owners = await orgImports.slugOwners(ex, items.flatMap(slugCandidates));
  const out: OrgImportOutcome[] = [];
  const done: ImportRecord[] = [];
  for (const item of items) {
    const base = { index: item.index, externalId: item.externalId };
    const hash = stableHash({
      name: item.name,
      slug: item.slug,
      logoUrl: item.logoUrl,
      metadata: item.metadata,
    });
    const rec = records.get(item.externalId);
    const current = rec ? await organizations.findById(ex, rec.localId) : undefined;
    if (current && rec!.sourceHash === hash) {
      out.push({ ...base, status: 'unchanged', organizationId: current.id, slug: current.slug });
      continue;
    }
    const id = current?.id ?? randomUUID();
    const candidates = slugCandidates(item);
    const slug =
      current && candidates.includes(current.slug)
        ? current.slug
        : candidates.find((s) => (owners.get(s) ?? id) === id);
    if (!slug) {
      out.push({
        ...base,
        status: 'failed',
        reason: `the slug "${item.slug}" and its alternatives are taken`,
      });
      continue;
    }
    if (current && current.slug !== slug) owners.delete(current.slug);
    owners.set(slug, id);
    if (!current) {
      if (write) await createOrganization(ex, ctx, now, source, id, slug, item);
      out.push({ ...base, status: 'created', organizationId: id, slug });
    } else {
      const patch = diff(current, item, slug);
      const fields = Object.keys(patch);
      if (write && fields.length) {
        await organizations.update(ex, id, patch, now);
        await record(ex, ctx, now, {
          action: 'organization.update',
          event: 'organization.updated',
          orgId: id,
          target: { type: 'organization', id },
          data: { fields, source, external_id: item.externalId },
        });
      }
      out.push({ ...base, status: fields.length ? 'updated' : 'unchanged', organizationId: id, slug });
    }
    done.push({
      source,
      kind: 'organization',
      externalId: item.externalId,
      localId: id,
      sourceHash: hash,
      needsPassword: false,
    });
  }
  if (write) await importRecords.upsertMany(ex, done, now);
  return out;
}

async function createOrganization(
  ex: Executor,
  ctx: RequestContext,
  now: Date,
  source: string,
  id: string,
  slug: string,
  item: ExternalOrganization,
): Promise<void> {
  await organizations.insert(ex, {
    id,
    name: item.name,
    slug,
    description: null,
    logoUrl: item.logoUrl,
    metadata: item.metadata,
    requireMfa: false,
    createdBy: null,
    createdAt: now,
    updatedAt: now,
  });
  await record(ex, ctx, now, {
    action: 'organization.create',
    event: 'organization.created',
    orgId: id,
    target: { type: 'organization', id },
    data: { name: item.name, slug, owner_id: null, source, external_id: item.externalId },
  });
}

/** The fields of `current` that the source record changes. */
function diff(current: Organization, item: ExternalOrganization, slug: string): OrganizationPatch {
  const patch: OrganizationPatch = {};
  if (current.name !== item.name) patch.name = item.name;
  if (current.slug !== slug) patch.slug = slug;
  if (current.logoUrl !== item.logoUrl) patch.logoUrl = item.logoUrl;
  if (stableHash(current.metadata) !== stableHash(item.metadata)) patch.metadata = item.metadata;
  return patch;
}

/**
 * Memberships of one organization (imported before, by `organizationExternalId`) from its members in the
 * source. `roles` are every source role by id (their permissions already mapped). See the module comment and
 * ./org-roles.ts for which role a member gets.
 */
export async function importMembershipsBatch(
  deps: ImportDeps,
  source: string,
  organizationExternalId: string,
  list: readonly ExternalMember[],
  roles: ReadonlyMap<string, ExternalRole>,
  opts: ImportBatchOptions,
  ctx: RequestContext,
): Promise<MemberImportOutcome[]> {
  const out: MemberImportOutcome[] = [];
  const valid: ExternalMember[] = [];
  const seen = new Set<string>();
  for (const m of list) {
    const reason = !m.userExternalId
      ? 'the member has no user id'
      : seen.has(m.userExternalId)
        ? 'duplicate of an earlier record'
        : undefined;
    seen.add(m.userExternalId);
    if (reason) out.push({ index: m.index, userExternalId: m.userExternalId, status: 'failed', reason });
    else valid.push(m);
  }
  const names = customRoleNames(roles.values());
  const run = (items: readonly ExternalMember[], o: ImportBatchOptions) =>
    inBatch(deps, o, async (ex, tx) => {
      const orgRec = (await importRecords.findMany(ex, source, 'organization', [organizationExternalId])).get(
        organizationExternalId,
      );
      const org = orgRec && (await organizations.findById(ex, orgRec.localId));
      if (!org) return items.map((m) => fail(m, 'organization not migrated'));
      if (tx) await lockOrganization(deps.store, tx, org.id);
      const w = {
        deps,
        source,
        orgExternalId: organizationExternalId,
        org,
        roles,
        names,
        ex,
        write: tx !== null,
        ctx,
      };
      return writeMembers(w, items);
    });
  const fail = (m: ExternalMember, reason: string): MemberImportOutcome => ({
    index: m.index,
    userExternalId: m.userExternalId,
    status: 'failed',
    reason,
  });
  out.push(...(await withIsolation(deps, opts, valid, run, fail)));
  return byIndex(out);
}

interface MemberWrite {
  deps: ImportDeps;
  source: string;
  orgExternalId: string;
  org: Organization;
  roles: ReadonlyMap<string, ExternalRole>;
  names: ReadonlyMap<string, string>;
  ex: Executor;
  write: boolean;
  ctx: RequestContext;
}

async function writeMembers(
  w: MemberWrite,
  items: readonly ExternalMember[],
): Promise<MemberImportOutcome[]> {
  const { ex, org, source, write, ctx } = w;
  const now = w.deps.clock.now();
  const userRecs = await importRecords.findMany(
    ex,
    source,
    'user',
    items.map((m) => m.userExternalId),
  );
  const localIds = [...userRecs.values()].map((r) => r.localId);
  const statuses = await orgImports.userStatuses(ex, localIds);
  const current = await orgImports.memberRoles(ex, org.id, localIds);
  const key = (m: ExternalMember) => `${w.orgExternalId}:${m.userExternalId}`;
  const memberRecs = await importRecords.findMany(ex, source, 'membership', items.map(key));
  let owners = await members.countWithRole(ex, org.id, 'owner');
  const ensurer = await RoleEnsurer.load(
    ex,
    { source, org, orgExternalId: w.orgExternalId, write, ctx, now },
    [...w.roles.keys()],
  );
  const out: MemberImportOutcome[] = [];
  const done: ImportRecord[] = [];
  const added: Array<{ userId: string; role: string }> = [];
  const changed: Array<{ userId: string; from: string; to: string }> = [];
  for (const m of items) {
    const base = { index: m.index, userExternalId: m.userExternalId };
    const userId = userRecs.get(m.userExternalId)?.localId;
    const status = userId && statuses.get(userId);
    if (!userId || !status || status === 'deleted') {
      out.push({
        ...base,
        status: 'failed',
        reason: status === 'deleted' ? 'user is deleted' : 'user not migrated',
      });
      continue;
    }
    const { plan, warnings } = planMemberRole(m.roleExternalIds, w.roles);
    const role =
      plan.kind === 'built-in'
        ? plan.name
        : await ensurer.ensure(customRoleSpec(w.orgExternalId, plan.ids, w.roles, w.names));
    const hash = stableHash({ role });
    const rec = memberRecs.get(key(m));
    const held = current.get(userId);
    const cur = held === undefined ? undefined : (ensurer.renamed.get(held) ?? held);
    const warn = () => (warnings.length ? { warnings } : {});
    if (rec && rec.sourceHash === hash) {
      if (cur === undefined)
        warnings.push('removed from the organization in Janua since the last import: not added again');
      out.push({ ...base, status: 'unchanged', role: cur ?? role, ...warn() });
      continue;
    }
    if (cur === undefined) {
      added.push({ userId, role });
      if (role === 'owner') owners++;
      out.push({ ...base, status: 'created', role, ...warn() });
    } else if (cur === role) {
      out.push({ ...base, status: 'unchanged', role, ...warn() });
    } else if (cur === 'owner' && owners <= 1) {
      warnings.push(`kept as owner instead of "${role}": an organization must keep at least one owner`);
      out.push({ ...base, status: 'unchanged', role: cur, ...warn() });
    } else {
      changed.push({ userId, from: cur, to: role });
      owners += (role === 'owner' ? 1 : 0) - (cur === 'owner' ? 1 : 0);
      out.push({ ...base, status: 'updated', role, ...warn() });
    }
    done.push({
      source,
      kind: 'membership',
      externalId: key(m),
      localId: userId,
      sourceHash: hash,
      needsPassword: false,
    });
  }
  if (write) {
    await orgImports.insertMembers(ex, org.id, added, now);
    for (const c of changed) await members.setRole(ex, org.id, c.userId, c.to);
    await recordMembers(w, added, changed, items, now);
    await importRecords.upsertMany(ex, [...ensurer.records, ...done], now);
  }
  return out;
}

/**
 * The events of a batch's membership changes — one per member, as the organization service emits them, in one
 * statement — and one audit row for the batch (as bulk user imports write), not one per member.
 */
async function recordMembers(
  w: MemberWrite,
  added: ReadonlyArray<{ userId: string; role: string }>,
  changed: ReadonlyArray<{ userId: string; from: string; to: string }>,
  items: readonly ExternalMember[],
  now: Date,
): Promise<void> {
  if (added.length + changed.length === 0) return;
  const orgId = w.org.id;
  const aggregate = { type: 'organization', id: orgId };
  const events: DomainEvent[] = [
    ...added.map((a) => ({
      type: 'organization.member.added' as const,
      aggregate,
      payload: { organization_id: orgId, user_id: a.userId, role: a.role, source: w.source },
    })),
    ...changed.map((c) => ({
      type: 'organization.member.role_changed' as const,
      aggregate,
      payload: { organization_id: orgId, user_id: c.userId, from: c.from, to: c.to, source: w.source },
    })),
  ];
  await emitMany(w.ex, events, now);
  await audit(
    w.ex,
    w.ctx,
    {
      action: 'organization.member.import',
      targetType: 'organization',
      targetId: orgId,
      metadata: {
        organization_id: orgId,
        source: w.source,
        external_id: w.orgExternalId,
        added: added.length,
        role_changed: changed.length,
        first_index: items[0]?.index,
        last_index: items.at(-1)?.index,
      },
    },
    now,
  );
}
