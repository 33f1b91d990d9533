/**
 * Roles a source gives at tenant level (Auth0 `GET /api/v2/roles/{id}/users`). Janua has no tenant-wide roles
 * (roles live in organizations), so the role's name is recorded on each holder's `app_metadata.auth0_roles`
 * (sorted, without duplicates, merged with what is there), where applications can still read it. Names are
 * only added: a role taken away at the source since an earlier run stays listed until an operator removes it.
 */
import { audit, type DomainEvent, emitMany, type RequestContext } from '../events/events.js';
import { importRecords } from '../store/repos/imports.js';
import { orgImports } from '../store/repos/org-imports.js';
import { byIndex, inBatch, withIsolation } from './batch-isolation.js';
import type { ExternalRole, ImportBatchOptions, ImportDeps } from './types.js';

/** The `app_metadata` key that lists a user's tenant-level source roles. */
export const TENANT_ROLES_KEY = 'auth0_roles';

export type TenantRoleStatus = 'updated' | 'unchanged' | 'failed';

export interface TenantRoleOutcome {
  /** 1-based position in `userExternalIds`. */
  index: number;
  userExternalId: string;
  status: TenantRoleStatus;
  userId?: string;
  reason?: string;
  warnings?: string[];
}

interface Item {
  index: number;
  userExternalId: string;
}

/**
 * Adds `role.name` to `app_metadata.auth0_roles` of every user in `userExternalIds` (imported before; one
 * batch = one transaction: pass at most a batch's worth of ids). A user not imported fails with "user not
 * migrated"; a user who already lists the role is unchanged and nothing is written for them.
 */
export async function importTenantRoles(
  deps: ImportDeps,
  source: string,
  role: ExternalRole,
  userExternalIds: readonly string[],
  opts: ImportBatchOptions,
  ctx: RequestContext,
): Promise<TenantRoleOutcome[]> {
  const items = userExternalIds.map((userExternalId, i) => ({ index: i + 1, userExternalId }));
  const run = (batch: readonly Item[], o: ImportBatchOptions) =>
    inBatch(deps, o, async (ex, tx) => {
      const now = deps.clock.now();
      const recs = await importRecords.findMany(
        ex,
        source,
        'user',
        batch.map((i) => i.userExternalId),
      );
      const meta = await orgImports.appMetadata(
        ex,
        [...recs.values()].map((r) => r.localId),
      );
      const out: TenantRoleOutcome[] = [];
      const events: DomainEvent[] = [];
      const seen = new Set<string>();
      for (const item of batch) {
        const userId = recs.get(item.userExternalId)?.localId;
        const current = userId ? meta.get(userId) : undefined;
        if (!userId || !current) {
          out.push({ ...item, status: 'failed', reason: 'user not migrated' });
          continue;
        }
        const listed = current[TENANT_ROLES_KEY];
        const warnings: string[] = [];
        let names: string[] = [];
        if (Array.isArray(listed)) names = listed.filter((n): n is string => typeof n === 'string');
        else if (listed !== undefined)
          warnings.push(`app_metadata.${TENANT_ROLES_KEY} was not a list of role names: replaced`);
        if (seen.has(userId) || (names.includes(role.name) && warnings.length === 0)) {
          out.push({ ...item, status: 'unchanged', userId });
          continue;
        }
        seen.add(userId);
        const next = [...new Set([...names, role.name])].sort();
        if (tx) await orgImports.setAppMetadata(ex, userId, { ...current, [TENANT_ROLES_KEY]: next }, now);
        events.push({
          type: 'user.updated',
          aggregate: { type: 'user', id: userId },
          payload: { user_id: userId, fields: ['app_metadata'], source },
        });
        out.push({ ...item, status: 'updated', userId, ...(warnings.length ? { warnings } : {}) });
      }
      if (tx && events.length) {
        await emitMany(ex, events, now);
        await audit(
          ex,
          ctx,
          {
            action: 'user.import.tenant_role',
            targetType: 'user',
            metadata: { source, role_id: role.externalId, role: role.name, updated: events.length },
          },
          now,
        );
      }
      return out;
    });
  const fail = (i: Item, reason: string): TenantRoleOutcome => ({ ...i, status: 'failed', reason });
  return byIndex(await withIsolation(deps, opts, items, run, fail));
}
