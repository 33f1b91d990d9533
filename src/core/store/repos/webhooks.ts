/**
 * Webhook endpoints (see migrations/0007_webhooks.ts for the columns and statuses). Secrets
 * are stored sealed: this module moves the sealed text and never opens it (core/webhooks does, with the
 * SecretBox).
 */
import type { Selectable } from 'kysely';
import { json, toDate, toDateOrNull, toJson } from '../codec.js';
import type { WebhookEndpointsTable } from '../schema.js';
import type { Executor } from '../store.js';

// Deliveries live in their own module; re-exported so callers import the webhook tables from one place.
export * from './webhook-deliveries.js';

export const ENDPOINT_STATUSES = ['active', 'disabled'] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

export interface WebhookEndpoint {
  id: string;
  /** null: a platform endpoint (every event). */
  organizationId: string | null;
  url: string;
  description: string | null;
  /** Event types or patterns (`user.*`, `*`). */
  events: string[];
  /** Extra request headers sent with every delivery. */
  headers: Record<string, string>;
  secretBox: string;
  previousSecretBox: string | null;
  previousSecretExpiresAt: Date | null;
  status: EndpointStatus;
  disabledReason: string | null;
  disabledAt: Date | null;
  failingSince: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewWebhookEndpoint = Pick<
  WebhookEndpoint,
  'id' | 'organizationId' | 'url' | 'description' | 'events' | 'headers' | 'secretBox' | 'createdBy'
>;

export type EndpointPatch = Partial<
  Pick<
    WebhookEndpoint,
    | 'url'
    | 'description'
    | 'events'
    | 'headers'
    | 'secretBox'
    | 'previousSecretBox'
    | 'previousSecretExpiresAt'
    | 'status'
    | 'disabledReason'
    | 'disabledAt'
    | 'failingSince'
  >
>;

export interface EndpointFilter {
  /** undefined: every endpoint; null: platform endpoints only; a string: that organization's. */
  organizationId?: string | null | undefined;
  /** Only endpoints of these organizations (non-empty). */
  organizationIds?: readonly string[] | undefined;
  status?: EndpointStatus | undefined;
  limit: number;
  offset?: number | undefined;
}

export function decodeEndpoint(r: Selectable<WebhookEndpointsTable>): WebhookEndpoint {
  return {
    id: r.id,
    organizationId: r.organization_id,
    url: r.url,
    description: r.description,
    events: toJson<string[]>(r.events),
    headers: toJson<Record<string, string>>(r.headers),
    secretBox: r.secret_box,
    previousSecretBox: r.previous_secret_box,
    previousSecretExpiresAt: toDateOrNull(r.previous_secret_expires_at),
    status: r.status as EndpointStatus,
    disabledReason: r.disabled_reason,
    disabledAt: toDateOrNull(r.disabled_at),
    failingSince: toDateOrNull(r.failing_since),
    createdBy: r.created_by,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

export const webhookEndpoints = {
  async insert(ex: Executor, e: NewWebhookEndpoint, now: Date): Promise<WebhookEndpoint> {
    const row = {
      id: e.id,
      organization_id: e.organizationId,
      url: e.url,
      description: e.description,
      events: json(e.events),
      headers: json(e.headers),
      secret_box: e.secretBox,
      previous_secret_box: null,
      previous_secret_expires_at: null,
      status: 'active',
      disabled_reason: null,
      disabled_at: null,
      failing_since: null,
      created_by: e.createdBy,
      created_at: now,
      updated_at: now,
    };
    await ex.insertInto('webhook_endpoints').values(row).execute();
    return {
      ...e,
      previousSecretBox: null,
      previousSecretExpiresAt: null,
      status: 'active',
      disabledReason: null,
      disabledAt: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
  },

  async findById(ex: Executor, id: string): Promise<WebhookEndpoint | undefined> {
    const row = await ex.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeEndpoint(row);
  },

  /** Oldest first (the order they were made in: stable pages). */
  async list(ex: Executor, f: EndpointFilter): Promise<WebhookEndpoint[]> {
    const rows = await filteredEndpoints(ex, f)
      .selectAll()
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(f.limit)
      .offset(f.offset ?? 0)
      .execute();
    return rows.map(decodeEndpoint);
  },

  async count(ex: Executor, f: Omit<EndpointFilter, 'limit' | 'offset'>): Promise<number> {
    const row = await filteredEndpoints(ex, f)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** Every active endpoint (the fan-out's candidates; a deployment has tens, not thousands). */
  async listActive(ex: Executor): Promise<WebhookEndpoint[]> {
    const rows = await ex
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('status', '=', 'active')
      .orderBy('created_at', 'asc')
      .execute();
    return rows.map(decodeEndpoint);
  },

  async update(ex: Executor, id: string, p: EndpointPatch, now: Date): Promise<boolean> {
    const set: Record<string, unknown> = { updated_at: now };
    if (p.url !== undefined) set['url'] = p.url;
    if (p.description !== undefined) set['description'] = p.description;
    if (p.events !== undefined) set['events'] = json(p.events);
    if (p.headers !== undefined) set['headers'] = json(p.headers);
    if (p.secretBox !== undefined) set['secret_box'] = p.secretBox;
    if (p.previousSecretBox !== undefined) set['previous_secret_box'] = p.previousSecretBox;
    if (p.previousSecretExpiresAt !== undefined)
      set['previous_secret_expires_at'] = p.previousSecretExpiresAt;
    if (p.status !== undefined) set['status'] = p.status;
    if (p.disabledReason !== undefined) set['disabled_reason'] = p.disabledReason;
    if (p.disabledAt !== undefined) set['disabled_at'] = p.disabledAt;
    if (p.failingSince !== undefined) set['failing_since'] = p.failingSince;
    const r = await ex.updateTable('webhook_endpoints').set(set).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  /** After a success: no longer failing (one statement, only when it was). */
  async markHealthy(ex: Executor, id: string): Promise<void> {
    await ex
      .updateTable('webhook_endpoints')
      .set({ failing_since: null })
      .where('id', '=', id)
      .where('failing_since', 'is not', null)
      .execute();
  },

  /** After a failure: failing since now, unless it already was (the first failure is what counts). */
  async markFailing(ex: Executor, id: string, now: Date): Promise<void> {
    await ex
      .updateTable('webhook_endpoints')
      .set({ failing_since: now })
      .where('id', '=', id)
      .where('failing_since', 'is', null)
      .execute();
  },

  async delete(ex: Executor, id: string): Promise<boolean> {
    const r = await ex.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },

  /** The endpoints of any of these organizations (what a non-admin who manages several may see), oldest first. */
  async listInOrganizations(
    ex: Executor,
    orgIds: readonly string[],
    page: { limit: number; offset: number; status?: EndpointStatus | undefined },
  ): Promise<WebhookEndpoint[]> {
    return orgIds.length === 0 ? [] : webhookEndpoints.list(ex, { ...page, organizationIds: orgIds });
  },

  async countInOrganizations(
    ex: Executor,
    orgIds: readonly string[],
    status?: EndpointStatus | undefined,
  ): Promise<number> {
    return orgIds.length === 0 ? 0 : webhookEndpoints.count(ex, { organizationIds: orgIds, status });
  },
};

/** The endpoints a filter selects: the one place list and count read it. */
function filteredEndpoints(ex: Executor, f: Omit<EndpointFilter, 'limit' | 'offset'>) {
  let q = ex.selectFrom('webhook_endpoints');
  if (f.organizationId === null) q = q.where('organization_id', 'is', null);
  else if (f.organizationId !== undefined) q = q.where('organization_id', '=', f.organizationId);
  if (f.organizationIds) q = q.where('organization_id', 'in', [...f.organizationIds]);
  if (f.status) q = q.where('status', '=', f.status);
  return q;
}
