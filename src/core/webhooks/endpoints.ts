/**
 * Webhook subscriptions (issue 12): the one implementation behind `/api/v1/webhooks…` and `janua webhooks`.
 * Every call names its actor (a signed-in user, or the operator at the command line, a platform admin) and is
 * scoped by ./access.ts; every change writes its audit row in the same transaction. The signing secret is
 * returned by create and rotate only; it is stored sealed under the master key (it must be read back to sign).
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { conflict } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import type { Actor } from '../rbac/access.js';
import {
  type EndpointPatch,
  type EndpointStatus,
  type WebhookEndpoint,
  webhookEndpoints,
} from '../store/repos/webhooks.js';
import type { Executor } from '../store/store.js';
import { endpointNotFound, loadEndpoint, readableOrganizations, requireScope } from './access.js';
import { normalizeEvents, WEBHOOK_TEST_EVENT } from './catalogue.js';
import { enqueueDeliveries } from './enqueue.js';
import { type EndpointView, maskSecret, presentEndpoint } from './present.js';
import { newSigningSecret, openSecret, sealSecret } from './secrets.js';
import { checkDescription, checkEndpointUrl, checkHeaders } from './targets.js';

export type WebhookDeps = Pick<Deps, 'store' | 'clock' | 'config' | 'box'>;

export const MAX_PER_PAGE = 100;
const HOUR_MS = 3_600_000;

/** The endpoint as shown, its secret masked. */
export function view(deps: Pick<Deps, 'box'>, e: WebhookEndpoint): EndpointView {
  let hint: string;
  try {
    hint = maskSecret(openSecret(deps.box, e.secretBox));
  } catch {
    // A secret sealed under another master key cannot be opened: say so rather than fail the listing.
    hint = 'whsec_…(sealed under another master key)';
  }
  return presentEndpoint(e, hint);
}

/** The endpoint with its secret in clear: create and rotate answers only. */
export interface EndpointWithSecret {
  endpoint: EndpointView;
  secret: string;
}

export interface CreateEndpointInput {
  url: string;
  events: readonly string[];
  description?: string | null | undefined;
  headers?: Record<string, string> | null | undefined;
  /** null or absent: a platform endpoint (platform admins only). */
  organizationId?: string | null | undefined;
}

async function auditChange(
  tx: Executor,
  ctx: RequestContext,
  now: Date,
  action: string,
  e: WebhookEndpoint,
  metadata: Record<string, unknown> = {},
): Promise<void> {
  await audit(
    tx,
    ctx,
    {
      action,
      targetType: 'webhook_endpoint',
      targetId: e.id,
      metadata: { organization_id: e.organizationId, url: e.url, ...metadata },
    },
    now,
  );
}

export async function createEndpoint(
  deps: WebhookDeps,
  actor: Actor,
  input: CreateEndpointInput,
  ctx: RequestContext,
): Promise<EndpointWithSecret> {
  const orgId = input.organizationId ? input.organizationId.toLowerCase() : null;
  await requireScope(deps, actor, orgId, 'webhooks:write');
  const url = checkEndpointUrl(input.url, deps.config.webhookAllowPrivateTargets);
  const events = normalizeEvents(input.events);
  const description = checkDescription(input.description);
  const headers = checkHeaders(input.headers);
  const secret = newSigningSecret();
  const secretBox = sealSecret(deps.box, secret);
  const now = deps.clock.now();
  const e = await deps.store.transaction(async (tx) => {
    const made = await webhookEndpoints.insert(
      tx,
      {
        id: randomUUID(),
        organizationId: orgId,
        url,
        description,
        events,
        headers,
        secretBox,
        createdBy: actor.id,
      },
      now,
    );
    await auditChange(tx, ctx, now, 'webhook.endpoint.created', made, { events });
    return made;
  });
  return { endpoint: presentEndpoint(e, maskSecret(secret)), secret };
}

export interface ListEndpointsInput {
  /** An organization's endpoints; null: the platform's; undefined: every endpoint the actor may see. */
  organizationId?: string | null | undefined;
  status?: EndpointStatus | undefined;
  page?: number | undefined;
  perPage?: number | undefined;
}

export interface EndpointPage {
  endpoints: EndpointView[];
  total: number;
  page: number;
  per_page: number;
}

export async function listEndpoints(
  deps: Pick<Deps, 'store' | 'box'>,
  actor: Actor,
  input: ListEndpointsInput,
): Promise<EndpointPage> {
  const page = Math.max(1, input.page ?? 1);
  const perPage = Math.min(Math.max(1, input.perPage ?? 50), MAX_PER_PAGE);
  const window = { limit: perPage, offset: (page - 1) * perPage };
  const status = input.status;
  const ex = deps.store.db;
  let rows: WebhookEndpoint[];
  let total: number;
  if (input.organizationId !== undefined) {
    const orgId = input.organizationId === null ? null : input.organizationId.toLowerCase();
    await requireScope(deps, actor, orgId, 'webhooks:read');
    rows = await webhookEndpoints.list(ex, { organizationId: orgId, status, ...window });
    total = await webhookEndpoints.count(ex, { organizationId: orgId, status });
  } else if (actor.isAdmin) {
    rows = await webhookEndpoints.list(ex, { status, ...window });
    total = await webhookEndpoints.count(ex, { status });
  } else {
    const orgIds = actor.id ? await readableOrganizations(deps, actor.id) : [];
    rows = await webhookEndpoints.listInOrganizations(ex, orgIds, { ...window, status });
    total = await webhookEndpoints.countInOrganizations(ex, orgIds, status);
  }
  return { endpoints: rows.map((e) => view(deps, e)), total, page, per_page: perPage };
}

export async function getEndpoint(
  deps: Pick<Deps, 'store' | 'box'>,
  actor: Actor,
  id: string,
): Promise<EndpointView> {
  return view(deps, await loadEndpoint(deps, actor, id, 'webhooks:read'));
}

export interface UpdateEndpointInput {
  url?: string | undefined;
  events?: readonly string[] | undefined;
  /** null or '' clears it. */
  description?: string | null | undefined;
  /** Replaces every custom header; null or {} removes them. */
  headers?: Record<string, string> | null | undefined;
  /** false disables (reason `manual`); true enables, clearing the failure record. */
  isActive?: boolean | undefined;
}

export async function updateEndpoint(
  deps: WebhookDeps,
  actor: Actor,
  id: string,
  input: UpdateEndpointInput,
  ctx: RequestContext,
): Promise<EndpointView> {
  const current = await loadEndpoint(deps, actor, id, 'webhooks:write');
  const patch: EndpointPatch = {};
  if (input.url !== undefined)
    patch.url = checkEndpointUrl(input.url, deps.config.webhookAllowPrivateTargets);
  if (input.events !== undefined) patch.events = normalizeEvents(input.events);
  if (input.description !== undefined) patch.description = checkDescription(input.description);
  if (input.headers !== undefined) patch.headers = checkHeaders(input.headers);
  const now = deps.clock.now();
  if (input.isActive === false && current.status !== 'disabled') {
    patch.status = 'disabled';
    patch.disabledReason = 'manual';
    patch.disabledAt = now;
  } else if (input.isActive === true && current.status !== 'active') {
    patch.status = 'active';
    patch.disabledReason = null;
    patch.disabledAt = null;
    patch.failingSince = null;
  }
  const changed = Object.keys(patch);
  if (changed.length === 0) return view(deps, current);
  const updated = await deps.store.transaction(async (tx) => {
    if (!(await webhookEndpoints.update(tx, current.id, patch, now))) throw endpointNotFound();
    const e = (await webhookEndpoints.findById(tx, current.id))!;
    await auditChange(tx, ctx, now, 'webhook.endpoint.updated', e, { changed });
    return e;
  });
  return view(deps, updated);
}

export async function deleteEndpoint(
  deps: WebhookDeps,
  actor: Actor,
  id: string,
  ctx: RequestContext,
): Promise<EndpointView> {
  const e = await loadEndpoint(deps, actor, id, 'webhooks:write');
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    // Deliveries go with it (ON DELETE CASCADE); their queued jobs find no delivery and end.
    if (!(await webhookEndpoints.delete(tx, e.id))) throw endpointNotFound();
    await auditChange(tx, ctx, now, 'webhook.endpoint.deleted', e);
  });
  return view(deps, e);
}

/**
 * A new secret, shown once. The old one keeps signing beside it for WEBHOOK_SECRET_GRACE_HOURS, so receivers
 * can switch without losing a delivery (Standard Webhooks sends both signatures meanwhile).
 */
export async function rotateSecret(
  deps: WebhookDeps,
  actor: Actor,
  id: string,
  ctx: RequestContext,
): Promise<EndpointWithSecret> {
  const e = await loadEndpoint(deps, actor, id, 'webhooks:write');
  const secret = newSigningSecret();
  const now = deps.clock.now();
  const graceMs = deps.config.webhookSecretGraceHours * HOUR_MS;
  const patch: EndpointPatch = {
    secretBox: sealSecret(deps.box, secret),
    previousSecretBox: graceMs > 0 ? e.secretBox : null,
    previousSecretExpiresAt: graceMs > 0 ? new Date(now.getTime() + graceMs) : null,
  };
  const rotated = await deps.store.transaction(async (tx) => {
    if (!(await webhookEndpoints.update(tx, e.id, patch, now))) throw endpointNotFound();
    const after = (await webhookEndpoints.findById(tx, e.id))!;
    await auditChange(tx, ctx, now, 'webhook.endpoint.secret_rotated', after, {
      previous_secret_expires_at: patch.previousSecretExpiresAt?.toISOString() ?? null,
    });
    return after;
  });
  return { endpoint: presentEndpoint(rotated, maskSecret(secret)), secret };
}

/** Queues one `webhook.test` delivery to this endpoint only; answers its delivery id. */
export async function sendTestEvent(
  deps: WebhookDeps,
  actor: Actor,
  id: string,
  ctx: RequestContext,
): Promise<{ deliveryId: string; eventId: string }> {
  const e = await loadEndpoint(deps, actor, id, 'webhooks:write');
  if (e.status !== 'active') throw conflict('The endpoint is disabled; enable it (is_active: true) first');
  const now = deps.clock.now();
  const eventId = randomUUID();
  const [queued] = await deps.store.transaction(async (tx) => {
    const out = await enqueueDeliveries(
      tx,
      { store: deps.store, clock: deps.clock, maxAttempts: deps.config.webhookRetrySchedule.length + 1 },
      [
        {
          endpointId: e.id,
          event: {
            id: eventId,
            type: WEBHOOK_TEST_EVENT,
            createdAt: now,
            data: { endpoint_id: e.id, message: 'A test event from Janua' },
            organizationId: e.organizationId,
          },
        },
      ],
    );
    await auditChange(tx, ctx, now, 'webhook.endpoint.tested', e, {
      delivery_id: out[0]!.deliveryId,
      event_id: eventId,
    });
    return out;
  });
  return { deliveryId: queued!.deliveryId, eventId };
}

/** The secrets an endpoint signs with now: the current one, then a rotated-out one still in its grace. */
export function liveSecrets(deps: Pick<Deps, 'box' | 'clock'>, e: WebhookEndpoint): string[] {
  const out = [openSecret(deps.box, e.secretBox)];
  if (e.previousSecretBox && e.previousSecretExpiresAt && e.previousSecretExpiresAt > deps.clock.now())
    out.push(openSecret(deps.box, e.previousSecretBox));
  return out;
}
