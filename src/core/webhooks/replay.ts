/**
 * Replay: deliveries sent again, as new deliveries of the same event. Each replay is a new `webhook_deliveries`
 * row (`replay_of` = the original) with the original's event id, type, organization and exact body bytes, and
 * its own `webhook.deliver` job: a fresh attempt on the full retry schedule, which receivers dedupe by the
 * event id (`webhook-id` / `X-Webhook-ID`) like any retry. The daemons' workers send them.
 *
 * A selection is explicit delivery ids, or a window of one endpoint's deliveries (`since` required, `until`
 * at most the start of the run, so the replays this run makes are never selected by it), optionally narrowed
 * by status and event type. It is read a page at a time in (created_at, id) order (keyset, not OFFSET) and
 * replayed in one transaction per page: an interrupted run keeps every replay it reported, and its rerun
 * would replay the window again (receivers dedupe).
 */
import type { Deps } from '../deps.js';
import { notFound, validation } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import {
  type DeliveryStatus,
  type WebhookDelivery,
  type WebhookEndpoint,
  webhookDeliveries,
  webhookEndpoints,
} from '../store/repos/webhooks.js';
import type { Executor } from '../store/store.js';
import { enqueueDeliveries } from './enqueue.js';

export type ReplaySelection =
  | { ids: readonly string[] }
  | {
      webhookId: string;
      since: Date;
      until?: Date | undefined;
      status?: DeliveryStatus | undefined;
      eventType?: string | undefined;
    };

export type ReplayOutcome = 'queued' | 'would_queue' | 'skipped' | 'not_found';

export interface ReplayItem {
  /** The delivery replayed (the original). */
  originalId: string;
  outcome: ReplayOutcome;
  /** The new delivery (outcome queued). */
  deliveryId?: string;
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  /** Why it was skipped or not found. */
  reason?: string;
}

export interface ReplayOptions {
  dryRun?: boolean;
  /** Deliveries per page and per transaction (default 200). */
  batchSize?: number;
}

export type ReplayDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

const MAX_IDS = 10_000;

/** Replays the selection, yielding one item per selected delivery once its page has committed. */
export async function* replayDeliveries(
  deps: ReplayDeps,
  selection: ReplaySelection,
  ctx: RequestContext,
  options: ReplayOptions = {},
): AsyncGenerator<ReplayItem> {
  const batchSize = options.batchSize ?? 200;
  const pages =
    'ids' in selection
      ? pagesOfIds(deps, selection.ids, batchSize)
      : pagesOfWindow(deps, selection, batchSize);
  const endpoints = new Map<string, WebhookEndpoint | undefined>();
  for await (const page of pages) {
    const items = options.dryRun
      ? await plan(deps.store.db, page, endpoints, true)
      : await deps.store.transaction(async (tx) => {
          const planned = await plan(tx, page, endpoints, false);
          await enqueueReplays(tx, deps, page, planned, ctx);
          return planned;
        });
    yield* items;
  }
}

type Page = Array<{ id: string; delivery: WebhookDelivery | undefined }>;

async function* pagesOfIds(deps: ReplayDeps, ids: readonly string[], size: number): AsyncGenerator<Page> {
  if (ids.length === 0) throw validation('name at least one delivery to replay');
  if (ids.length > MAX_IDS) throw validation(`at most ${MAX_IDS} deliveries by id; use a window`);
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += size) {
    const slice = unique.slice(i, i + size);
    const found = await webhookDeliveries.findByIds(deps.store.db, slice);
    const byId = new Map(found.map((d) => [d.id, d]));
    yield slice.map((id) => ({ id, delivery: byId.get(id) }));
  }
}

async function* pagesOfWindow(
  deps: ReplayDeps,
  w: Exclude<ReplaySelection, { ids: readonly string[] }>,
  size: number,
): AsyncGenerator<Page> {
  const startedAt = deps.clock.now();
  const until = w.until && w.until < startedAt ? w.until : startedAt;
  if (!(w.since < until))
    throw validation('the window is empty: `since` must be before `until` and before now');
  const endpoint = await webhookEndpoints.findById(deps.store.db, w.webhookId);
  if (!endpoint) throw notFound('webhook endpoint not found');
  let after: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const rows = await webhookDeliveries.pageForReplay(deps.store.db, {
      endpointId: w.webhookId,
      since: w.since,
      until,
      status: w.status,
      eventType: w.eventType,
      after,
      limit: size,
    });
    if (rows.length === 0) return;
    yield rows.map((d) => ({ id: d.id, delivery: d }));
    const last = rows[rows.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
    if (rows.length < size) return;
  }
}

/** What each delivery of the page becomes; reads endpoints once per run. */
async function plan(
  ex: Executor,
  page: Page,
  endpoints: Map<string, WebhookEndpoint | undefined>,
  dryRun: boolean,
): Promise<ReplayItem[]> {
  const out: ReplayItem[] = [];
  for (const { id, delivery: d } of page) {
    if (!d) {
      out.push({ originalId: id, outcome: 'not_found', reason: 'no such delivery' });
      continue;
    }
    if (!endpoints.has(d.endpointId))
      endpoints.set(d.endpointId, await webhookEndpoints.findById(ex, d.endpointId));
    const endpoint = endpoints.get(d.endpointId);
    const base = { originalId: id, endpointId: d.endpointId, eventId: d.eventId, eventType: d.eventType };
    if (endpoint?.status !== 'active')
      out.push({
        ...base,
        outcome: 'skipped',
        reason: endpoint
          ? `endpoint ${endpoint.id} is disabled (${endpoint.disabledReason ?? 'manual'}); enable it first`
          : 'the endpoint was deleted',
      });
    else out.push({ ...base, outcome: dryRun ? 'would_queue' : 'queued' });
  }
  return out;
}

async function enqueueReplays(
  tx: Executor,
  deps: ReplayDeps,
  page: Page,
  planned: ReplayItem[],
  ctx: RequestContext,
): Promise<void> {
  const originals = new Map(page.map((p) => [p.id, p.delivery]));
  const chosen = planned.filter((i) => i.outcome === 'queued');
  const made = await enqueueDeliveries(
    tx,
    { ...deps, maxAttempts: deps.config.webhookRetrySchedule.length + 1 },
    chosen.map((i) => {
      const d = originals.get(i.originalId)!;
      return {
        endpointId: d.endpointId,
        event: {
          id: d.eventId,
          type: d.eventType,
          createdAt: d.eventCreatedAt,
          data: {},
          organizationId: d.organizationId,
        },
        body: d.body,
        replayOf: d.id,
      };
    }),
  );
  chosen.forEach((item, i) => {
    item.deliveryId = made[i]!.deliveryId;
  });
  if (chosen.length)
    await audit(
      tx,
      ctx,
      {
        action: 'webhook.deliveries.replayed',
        targetType: 'webhook_delivery',
        metadata: {
          count: chosen.length,
          replays: chosen.map((c) => ({ of: c.originalId, new: c.deliveryId })),
        },
      },
      deps.clock.now(),
    );
}

export interface WaitedDelivery {
  id: string;
  status: DeliveryStatus | 'gone';
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
}

/**
 * Polls deliveries until each has succeeded or failed, or `timeoutMs` passed (then each is reported as it
 * stands: pending or retrying). For `replay --wait`: the daemons deliver; this only watches.
 */
export async function waitForDeliveries(
  deps: Pick<Deps, 'store'>,
  ids: readonly string[],
  timeoutMs: number,
  pollMs = 250,
): Promise<WaitedDelivery[]> {
  const deadline = Date.now() + timeoutMs;
  const state = new Map<string, WaitedDelivery>();
  let open = [...ids];
  for (;;) {
    for (let i = 0; i < open.length; i += 500) {
      const found = await webhookDeliveries.findByIds(deps.store.db, open.slice(i, i + 500));
      const byId = new Map(found.map((d) => [d.id, d]));
      for (const id of open.slice(i, i + 500)) {
        const d = byId.get(id);
        state.set(id, {
          id,
          status: d ? d.status : 'gone',
          attempts: d?.attempts ?? 0,
          responseStatus: d?.responseStatus ?? null,
          lastError: d?.lastError ?? null,
        });
      }
    }
    open = open.filter((id) => {
      const s = state.get(id)!.status;
      return s === 'pending' || s === 'retrying';
    });
    if (open.length === 0 || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return ids.map((id) => state.get(id)!);
}
