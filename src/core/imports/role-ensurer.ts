/**
 * The custom roles an organization import needs, made once per organization and source role (or composite),
 * kept by `import_records` (kind `role`) and updated when the source's role changed. A name already used in
 * the organization by a role the import did not make gets a hash of the record's key (deterministic).
 * One instance per batch: it caches what it ensured and collects the import records to write.
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../events/events.js';
import type { Organization, OrgRole } from '../orgs/model.js';
import { record } from '../orgs/service.js';
import { type ImportRecord, importRecords } from '../store/repos/imports.js';
import { invitations, members, orgRoles } from '../store/repos/organizations.js';
import type { Executor } from '../store/store.js';
import { type CustomRoleSpec, stableHash, withSuffix } from './org-roles.js';

interface Scope {
  source: string;
  org: Organization;
  orgExternalId: string;
  write: boolean;
  ctx: RequestContext;
  now: Date;
}

export class RoleEnsurer {
  /** Import records to upsert with the batch. */
  readonly records: ImportRecord[] = [];
  /** Roles renamed in this batch (old name → new): their holders were renamed with them. */
  readonly renamed = new Map<string, string>();
  private readonly ensured = new Map<string, string>();

  private constructor(
    private readonly ex: Executor,
    private readonly scope: Scope,
    private readonly known: Map<string, ImportRecord>,
    private readonly byName: Map<string, OrgRole>,
    private readonly byId: Map<string, OrgRole>,
  ) {}

  /** Reads the organization's custom roles and the records of the source roles `roleIds`. */
  static async load(ex: Executor, scope: Scope, roleIds: readonly string[]): Promise<RoleEnsurer> {
    const list = await orgRoles.list(ex, scope.org.id);
    const known = await importRecords.findMany(
      ex,
      scope.source,
      'role',
      roleIds.map((id) => `${scope.orgExternalId}:${id}`),
    );
    return new RoleEnsurer(
      ex,
      scope,
      known,
      new Map(list.map((r) => [r.name, r])),
      new Map(list.map((r) => [r.id, r])),
    );
  }

  /** The name of the organization's role for `spec`, created or brought up to date first. */
  async ensure(spec: CustomRoleSpec): Promise<string> {
    const cached = this.ensured.get(spec.key);
    if (cached !== undefined) return cached;
    const { ex, scope } = this;
    const rec =
      this.known.get(spec.key) ??
      (await importRecords.findMany(ex, scope.source, 'role', [spec.key])).get(spec.key);
    const existing = rec ? this.byId.get(rec.localId) : undefined;
    const hash = stableHash({
      name: spec.name,
      description: spec.description,
      permissions: spec.permissions,
    });
    let name: string;
    if (existing && rec!.sourceHash === hash) {
      name = existing.name; // unchanged at the source: a rename made in Janua stays
    } else {
      const other = (n: string) => {
        const r = this.byName.get(n);
        return r !== undefined && r.id !== existing?.id;
      };
      name = other(spec.name) ? withSuffix(spec.name, spec.key) : spec.name;
      const id = existing?.id ?? randomUUID();
      const role: OrgRole = {
        id,
        organizationId: scope.org.id,
        name,
        description: spec.description,
        permissions: spec.permissions,
        createdAt: existing?.createdAt ?? scope.now,
        updatedAt: scope.now,
      };
      if (!existing) await this.create(role, spec.key);
      else await this.update(existing, role, spec.key);
      if (existing) this.byName.delete(existing.name);
      this.byName.set(name, role);
      this.byId.set(id, role);
      this.records.push({
        source: scope.source,
        kind: 'role',
        externalId: spec.key,
        localId: id,
        sourceHash: hash,
        needsPassword: false,
      });
    }
    this.ensured.set(spec.key, name);
    return name;
  }

  private async create(role: OrgRole, key: string): Promise<void> {
    const { ex, scope } = this;
    if (!scope.write) return;
    await orgRoles.insert(ex, role);
    await record(ex, scope.ctx, scope.now, {
      action: 'organization.role.create',
      event: 'organization.role.created',
      orgId: scope.org.id,
      target: { type: 'role', id: role.id },
      data: {
        role_id: role.id,
        name: role.name,
        permissions: role.permissions,
        source: scope.source,
        external_id: key,
      },
    });
  }

  private async update(from: OrgRole, to: OrgRole, key: string): Promise<void> {
    const { ex, scope } = this;
    const fields = [
      from.name !== to.name && 'name',
      from.description !== to.description && 'description',
      stableHash(from.permissions) !== stableHash(to.permissions) && 'permissions',
    ].filter((f): f is string => f !== false);
    if (from.name !== to.name) this.renamed.set(from.name, to.name);
    if (!scope.write || fields.length === 0) return;
    if (from.name !== to.name) {
      // As the role service does: holders and open invitations follow the rename.
      await members.renameRole(ex, scope.org.id, from.name, to.name);
      await invitations.renameRole(ex, scope.org.id, from.name, to.name);
    }
    await orgRoles.update(
      ex,
      from.id,
      { name: to.name, description: to.description, permissions: to.permissions },
      scope.now,
    );
    await record(ex, scope.ctx, scope.now, {
      action: 'organization.role.update',
      event: 'organization.role.updated',
      orgId: scope.org.id,
      target: { type: 'role', id: from.id },
      data: {
        role_id: from.id,
        fields,
        name: to.name,
        permissions: to.permissions,
        source: scope.source,
        external_id: key,
      },
    });
  }
}
