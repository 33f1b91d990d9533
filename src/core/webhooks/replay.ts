/**
 * Replay: re-send deliveries that were already made. Each replayed delivery becomes a NEW delivery row (its
 * `replay_of` names the original) holding the original's exact body bytes, event id, event type and
 * organization, with its own `webhook.deliver` job — the daemons' workers send it like any other. The same
 * event id is what lets receivers dedupe (Standard Webhooks: `webhook-id` is the idempotency key), so a replay
 * is safe to repeat.
 *
 * Selection: explicit delivery ids, or a window of one endpoint's deliveries (`since` is required: a window is
 * always bounded). A window is walked oldest first by keyset on (created_at, id) up to the last row that existed
 * when the replay started, so the replays it makes itself are never selected again and a large window streams
 * in constant memory. Each batch is one transaction (its deliveries, their jobs and one `webhook.replay` audit
 * row commit together); items are reported only after their batch committed, so an interruption loses nothing
 * already reported and re-running replays only what was not.
 *
 * Endpoints that are disabled are skipped (`endpoint_disabled`): the delivery worker would not send to them
 * anyway, and re-enabling the endpoint is the explicit, audited way to resume. A delivery whose endpoint was
 * deleted is gone with it (the foreign key cascades), so it reads as `not_found`; `endpoint_deleted` is reported
 * when the endpoint disappears between selection and the batch's transaction.
 */
import type { Deps } from '../deps.js';
import { JanuaError } from '../errors.js';
import { audit, CLI_CONTEXT, type RequestContext } from '../events/events.js';
import {
  type DeliveryStatus,
  type WebhookDelivery,
  type WebhookEndpoint,
  webhookDeliveries,
  webhookEndpoints,
} from '../store/repos/webhooks.js';
import type { Executor } from '../store/store.js';
import { enqueueDeliveries } from './enqueue.js';

export const REPLAY_BATCH_SIZE = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ReplayWindow {
  webhookId: string;
  /** Inclusive; required (a window is always bounded). */
  since: Date;
  /** Exclusive; default none (the walk still stops at the last row that existed when it began). */
  until?: Date | undefined;
  status?: DeliveryStatus | undefined;
  eventType?: string | undefined;
  /**
   * Only first deliveries no replay was made of yet (replays and replayed deliveries are skipped): re-running an
   * interrupted replay with this resumes it.
   */
  skipReplayed?: boolean | undefined;
}

export type ReplaySelection = { ids: readonly string[] } | ReplayWindow;

export type ReplayOutcome = 'queued' | 'would_queue' | 'skipped' | 'error';
export type SkipReason = 'not_found' | 'endpoint_disabled' | 'endpoint_deleted';

export interface ReplayItem {
  originalId: string;
  outcome: ReplayOutcome;
  /** The new delivery (queued only). */
  deliveryId?: string;
  endpointId?: string;
  reason?: SkipReason | string;
}

export interface ReplayOptions {
  dryRun?: boolean;
  batchSize?: number;
  ctx?: RequestContext;
}

type ReplayDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

function isWindow(s: ReplaySelection): s is ReplayWindow {
  return !('ids' in s);
}

/** Checks a selection before anything is read: bad input changes nothing (and selects nothing). */
function validate(s: ReplaySelection): void {
  if (isWindow(s)) {
    if (!UUID.test(s.webhookId)) throw new JanuaError('NOT_FOUND_ERROR', `no webhook ${s.webhookId}`);
    if (!(s.since instanceof Date) || Number.isNaN(s.since.getTime()))
      throw new JanuaError('VALIDATION_ERROR', 'a replay window needs a valid `since`');
    if (s.until && (Number.isNaN(s.until.getTime()) || s.until <= s.since))
      throw new JanuaError('VALIDATION_ERROR', '`until` must be a valid time after `since`');
  } else if (s.ids.length === 0) throw new JanuaError('VALIDATION_ERROR', 'no delivery ids to replay');
}

/**
 * Replays the selection, yielding one item per selected delivery once its batch has committed (dry run: once
 * classified; nothing is written). Throws NOT_FOUND_ERROR before yielding when a window's endpoint does not exist.
 */
export async function* replayDeliveries(
  deps: ReplayDeps,
  selection: ReplaySelection,
  options: ReplayOptions = {},
): AsyncGenerator<ReplayItem> {
  validate(selection);
  const batchSize = options.batchSize ?? REPLAY_BATCH_SIZE;
  const run = (originals: WebhookDelivery[]) => replayBatch(deps, originals, options, selection);
  if (!isWindow(selection)) {
    const ids = [...new Set(selection.ids.map((id) => id.toLowerCase()))];
    for (let i = 0; i < ids.length; i += batchSize) {
      const chunk = ids.slice(i, i + batchSize);
      // Ids that are not uuids cannot name a delivery (and would be a type error to Postgres).
      const found = await webhookDeliveries.findByIds(
        deps.store.db,
        chunk.filter((id) => UUID.test(id)),
      );
      const byId = new Map(found.map((d) => [d.id, d]));
      const originals = chunk.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
      const done = new Map((await run(originals)).map((it) => [it.originalId, it]));
      for (const id of chunk)
        yield done.get(id) ?? { originalId: id, outcome: 'skipped', reason: 'not_found' };
    }
    return;
  }
  const endpoint = await webhookEndpoints.findById(deps.store.db, selection.webhookId.toLowerCase());
  if (!endpoint) throw new JanuaError('NOT_FOUND_ERROR', `no webhook ${selection.webhookId}`);
  const filter = {
    endpointId: endpoint.id,
    since: selection.since,
    until: selection.until,
    status: selection.status,
    eventType: selection.eventType,
    unreplayed: selection.skipReplayed,
  };
  // Stop at the last row that exists now: the replays this run makes are never selected by it.
  const through = await webhookDeliveries.lastOf(deps.store.db, filter);
  if (!through) return;
  const made = new Set<string>();
  let after: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const page = await webhookDeliveries.pageAfter(deps.store.db, {
      ...filter,
      after,
      through,
      limit: batchSize,
    });
    if (page.length === 0) return;
    const last = page[page.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
    // A replay made in the same millisecond as a selected row can sort before `through`: never replay it.
    for (const it of await run(page.filter((d) => !made.has(d.id)))) {
      if (it.deliveryId) made.add(it.deliveryId);
      yield it;
    }
    if (page.length < batchSize) return;
  }
}

/** One batch in one transaction; if it fails, each item alone (so one bad item does not sink the others). */
async function replayBatch(
  deps: ReplayDeps,
  originals: WebhookDelivery[],
  options: ReplayOptions,
  selection: ReplaySelection,
): Promise<ReplayItem[]> {
  if (originals.length === 0) return [];
  if (options.dryRun) return classify(deps.store.db, originals, true);
  const once = (batch: WebhookDelivery[]) =>
    deps.store.transaction(async (tx) => {
      const items = await classify(tx, batch, false);
      const wanted = batch.filter((_, i) => items[i]!.outcome === 'queued');
      const made = await enqueueDeliveries(
        tx,
        { ...deps, maxAttempts: deps.config.webhookRetrySchedule.length + 1 },
        wanted.map((d) => ({
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
        })),
      );
      let k = 0;
      for (const it of items) if (it.outcome === 'queued') it.deliveryId = made[k++]!.deliveryId;
      if (made.length)
        await audit(
          tx,
          options.ctx ?? CLI_CONTEXT,
          {
            action: 'webhook.replay',
            targetType: isWindow(selection) ? 'webhook' : 'webhook_delivery',
            targetId: isWindow(selection) ? selection.webhookId.toLowerCase() : (wanted[0]?.id ?? null),
            metadata: {
              queued: made.length,
              skipped: items.length - made.length,
              replays: items
                .filter((it) => it.deliveryId)
                .map((it) => ({ replay_of: it.originalId, delivery_id: it.deliveryId })),
            },
          },
          deps.clock.now(),
        );
      return items;
    });
  try {
    return await once(originals);
  } catch (err) {
    if (originals.length === 1)
      return [{ originalId: originals[0]!.id, outcome: 'error', reason: (err as Error).message }];
    const items: ReplayItem[] = [];
    for (const d of originals) items.push(...(await replayBatch(deps, [d], options, selection)));
    return items;
  }
}

/** Each original's fate by its endpoint's state, read with `ex` (inside the batch's transaction). */
async function classify(ex: Executor, originals: WebhookDelivery[], dryRun: boolean): Promise<ReplayItem[]> {
  const endpoints = new Map<string, WebhookEndpoint | undefined>();
  for (const id of new Set(originals.map((d) => d.endpointId)))
    endpoints.set(id, await webhookEndpoints.findById(ex, id));
  return originals.map((d): ReplayItem => {
    const e = endpoints.get(d.endpointId);
    const base = { originalId: d.id, endpointId: d.endpointId };
    if (!e) return { ...base, outcome: 'skipped', reason: 'endpoint_deleted' };
    if (e.status !== 'active') return { ...base, outcome: 'skipped', reason: 'endpoint_disabled' };
    return { ...base, outcome: dryRun ? 'would_queue' : 'queued' };
  });
}

/** Runs a replay to the end and returns every item (the HTTP routes; the CLI streams instead). */
export async function collectReplay(
  deps: ReplayDeps,
  selection: ReplaySelection,
  options: ReplayOptions = {},
): Promise<ReplayItem[]> {
  const items: ReplayItem[] = [];
  for await (const it of replayDeliveries(deps, selection, options)) items.push(it);
  return items;
}

/** Replays one delivery: NOT_FOUND_ERROR when it does not exist, CONFLICT_ERROR when it cannot be queued. */
export async function replayDelivery(
  deps: ReplayDeps,
  id: string,
  ctx: RequestContext,
): Promise<{ deliveryId: string; replayOf: string; status: DeliveryStatus }> {
  const [it] = await collectReplay(deps, { ids: [id] }, { ctx });
  if (!it || it.reason === 'not_found') throw new JanuaError('NOT_FOUND_ERROR', `no webhook delivery ${id}`);
  if (it.outcome !== 'queued' || !it.deliveryId)
    throw new JanuaError('CONFLICT_ERROR', `delivery ${id} cannot be replayed: ${it.reason ?? it.outcome}`);
  return { deliveryId: it.deliveryId, replayOf: it.originalId, status: 'pending' };
}

export interface DeliveryState {
  id: string;
  /** undefined: the delivery no longer exists (retention or its endpoint was deleted). */
  status: DeliveryStatus | undefined;
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
}

/**
 * Polls deliveries until each is finished (succeeded or failed) or the deadline passes, and returns the state of
 * each (a delivery still pending or retrying at the deadline is reported as such).
 */
export async function waitForDeliveries(
  deps: Pick<Deps, 'store'>,
  ids: readonly string[],
  options: { timeoutMs: number; pollMs?: number },
): Promise<DeliveryState[]> {
  const deadline = Date.now() + options.timeoutMs;
  const states = new Map<string, DeliveryState>();
  let open = [...new Set(ids)];
  for (;;) {
    const next: string[] = [];
    for (let i = 0; i < open.length; i += REPLAY_BATCH_SIZE) {
      const chunk = open.slice(i, i + REPLAY_BATCH_SIZE);
      const found = new Map((await webhookDeliveries.findByIds(deps.store.db, chunk)).map((d) => [d.id, d]));
      for (const id of chunk) {
        const d = found.get(id);
        states.set(id, {
          id,
          status: d?.status,
          attempts: d?.attempts ?? 0,
          responseStatus: d?.responseStatus ?? null,
          lastError: d?.lastError ?? null,
        });
        if (d && (d.status === 'pending' || d.status === 'retrying')) next.push(id);
      }
    }
    open = next;
    if (open.length === 0 || Date.now() >= deadline) break;
    await new Promise((r) =>
      setTimeout(r, Math.min(options.pollMs ?? 250, Math.max(0, deadline - Date.now()))),
    );
  }
  return ids.map((id) => states.get(id)!);
}
