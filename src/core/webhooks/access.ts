/**
 * Who may manage which endpoint. An organization's endpoint is managed by members whose role holds
 * `webhooks:read` / `webhooks:write` (owners and admins; custom roles may be granted them); a platform endpoint
 * (no organization) by platform admins only. Anyone else is told the endpoint does not exist — no existence leak.
 */
import type { Deps } from '../deps.js';
import { forbidden, notFound } from '../errors.js';
import {
  type Actor,
  requireObjectPermission,
  requireOrgPermission,
  rolePermissions,
  UUID_PATTERN,
} from '../rbac/access.js';
import { hasPermission } from '../rbac/permissions.js';
import { organizations } from '../store/repos/organizations.js';
import { type WebhookEndpoint, webhookEndpoints } from '../store/repos/webhooks.js';
import type { Executor } from '../store/store.js';

export type WebhookPermission = 'webhooks:read' | 'webhooks:write';

export const endpointNotFound = () => notFound('Webhook endpoint not found');

/** May `actor` do `permission` on endpoints of `orgId` (null: the platform's)? Throws 404/403 otherwise. */
export async function requireScope(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgId: string | null,
  permission: WebhookPermission,
): Promise<void> {
  if (actor.isAdmin) {
    if (orgId !== null) await requireOrgPermission(deps, actor, orgId, permission);
    return;
  }
  if (orgId === null) throw forbidden('Platform endpoints are managed by platform administrators');
  await requireOrgPermission(deps, actor, orgId, permission);
}

/** The endpoint `id`, if `actor` may do `permission` on it; 404 for an unknown id and for one they may not see. */
export async function loadEndpoint(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  id: string,
  permission: WebhookPermission,
  ex: Executor = deps.store.db,
): Promise<WebhookEndpoint> {
  const e = UUID_PATTERN.test(id) ? await webhookEndpoints.findById(ex, id.toLowerCase()) : undefined;
  if (!e) throw endpointNotFound();
  if (actor.isAdmin) return e;
  if (e.organizationId === null) throw endpointNotFound();
  await requireObjectPermission(deps, actor, e.organizationId, permission, endpointNotFound);
  return e;
}

/** The organizations whose endpoints a (non-admin) user may read. */
export async function readableOrganizations(deps: Pick<Deps, 'store'>, userId: string): Promise<string[]> {
  const ex = deps.store.db;
  const out: string[] = [];
  for (const { org, role } of await organizations.listForUser(ex, userId))
    if (hasPermission(await rolePermissions(ex, org.id, role), 'webhooks:read')) out.push(org.id);
  return out;
}
