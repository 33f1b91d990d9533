/**
 * Reading deliveries: the history of an endpoint (filtered, paginated), one delivery with the body sent, and an
 * endpoint's figures. Scoped like the endpoints themselves (./access.ts).
 */
import type { Deps } from '../deps.js';
import { notFound, validation } from '../errors.js';
import type { Actor } from '../rbac/access.js';
import { UUID_PATTERN } from '../rbac/access.js';
import { DELIVERY_STATUSES, type DeliveryStatus, webhookDeliveries } from '../store/repos/webhooks.js';
import { loadEndpoint } from './access.js';
import { type DeliveryView, presentDelivery, presentDeliveryFull } from './present.js';

export const MAX_DELIVERIES_PER_PAGE = 200;
const DAY_MS = 86_400_000;

export interface DeliveryQuery {
  /** One endpoint's deliveries; undefined: every endpoint (platform admins only). */
  endpointId?: string | undefined;
  status?: string | undefined;
  eventType?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

function checkStatus(s: string | undefined): DeliveryStatus | undefined {
  if (s === undefined) return undefined;
  if (!(DELIVERY_STATUSES as readonly string[]).includes(s))
    throw validation(`status must be one of ${DELIVERY_STATUSES.join(', ')}`, { status: 'invalid' });
  return s as DeliveryStatus;
}

export async function listDeliveries(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  q: DeliveryQuery,
): Promise<{ deliveries: DeliveryView[]; total: number; limit: number; offset: number }> {
  const status = checkStatus(q.status);
  if (q.since && q.until && q.since > q.until)
    throw validation('since must not be after until', { since: 'invalid' });
  const limit = Math.min(Math.max(1, q.limit ?? 50), MAX_DELIVERIES_PER_PAGE);
  const offset = Math.max(0, q.offset ?? 0);
  let endpointId: string | undefined;
  if (q.endpointId !== undefined)
    endpointId = (await loadEndpoint(deps, actor, q.endpointId, 'webhooks:read')).id;
  else if (!actor.isAdmin)
    throw validation('name the endpoint whose deliveries to list', { webhook_id: 'required' });
  const filter = { endpointId, status, eventType: q.eventType, since: q.since, until: q.until };
  const ex = deps.store.db;
  const [rows, total] = await Promise.all([
    webhookDeliveries.list(ex, { ...filter, limit, offset }),
    webhookDeliveries.count(ex, filter),
  ]);
  return { deliveries: rows.map(presentDelivery), total, limit, offset };
}

const deliveryNotFound = () => notFound('Webhook delivery not found');

export async function getDelivery(deps: Pick<Deps, 'store'>, actor: Actor, id: string) {
  const d = UUID_PATTERN.test(id)
    ? await webhookDeliveries.findById(deps.store.db, id.toLowerCase())
    : undefined;
  if (!d) throw deliveryNotFound();
  try {
    await loadEndpoint(deps, actor, d.endpointId, 'webhooks:read');
  } catch {
    throw deliveryNotFound();
  }
  return presentDeliveryFull(d);
}

export interface EndpointStats {
  webhook_id: string;
  period_days: number | null;
  total: number;
  pending: number;
  retrying: number;
  succeeded: number;
  failed: number;
  /** succeeded / (succeeded + failed), 0–1; null before any finished delivery. */
  success_rate: number | null;
  mean_latency_ms: number | null;
  last_delivery_at: string | null;
  /** The original SDK's names for total, succeeded and mean_latency_ms. */
  total_deliveries: number;
  successful: number;
  average_delivery_time: number | null;
}

export async function endpointStats(
  deps: Pick<Deps, 'store' | 'clock'>,
  actor: Actor,
  id: string,
  days?: number | undefined,
): Promise<EndpointStats> {
  const e = await loadEndpoint(deps, actor, id, 'webhooks:read');
  const since = days ? new Date(deps.clock.now().getTime() - days * DAY_MS) : undefined;
  const s = await webhookDeliveries.stats(deps.store.db, e.id, since);
  const n = (k: DeliveryStatus) => s.byStatus[k] ?? 0;
  const finished = n('succeeded') + n('failed');
  const total = DELIVERY_STATUSES.reduce((sum, k) => sum + n(k), 0);
  const mean = s.meanLatencyMs === null ? null : Math.round(s.meanLatencyMs * 10) / 10;
  return {
    webhook_id: e.id,
    period_days: days ?? null,
    total,
    pending: n('pending'),
    retrying: n('retrying'),
    succeeded: n('succeeded'),
    failed: n('failed'),
    success_rate: finished ? n('succeeded') / finished : null,
    mean_latency_ms: mean,
    last_delivery_at: s.lastDeliveredAt?.toISOString() ?? null,
    total_deliveries: total,
    successful: n('succeeded'),
    average_delivery_time: mean,
  };
}
