/**
 * Webhook deliveries (see migrations/0007_webhooks.ts for the columns and statuses): what the fan-out, the
 * delivery job, replay and the management queries read and write. Endpoints are in ./webhooks.ts.
 */
import type { Selectable } from 'kysely';
import { toDate, toDateOrNull } from '../codec.js';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../schema.js';
import type { Executor } from '../store.js';
import { deletePicked } from './delete-picked.js';
import { decodeEndpoint, type WebhookEndpoint } from './webhooks.js';

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  organizationId: string | null;
  /** The exact JSON body sent on every attempt. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  /** The start of the last response's body (capped). */
  responseBody: string | null;
  latencyMs: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  jobId: string | null;
  replayOf: string | null;
  eventCreatedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

export type NewWebhookDelivery = Pick<
  WebhookDelivery,
  | 'id'
  | 'endpointId'
  | 'eventId'
  | 'eventType'
  | 'organizationId'
  | 'body'
  | 'jobId'
  | 'replayOf'
  | 'eventCreatedAt'
>;

/** The outcome of one attempt, as recorded on its delivery. */
export type DeliveryOutcome = Pick<
  WebhookDelivery,
  'status' | 'attempts' | 'responseStatus' | 'responseBody' | 'latencyMs' | 'lastError' | 'nextAttemptAt'
> & { deliveredAt?: Date | null };

export interface DeliveryFilter {
  endpointId?: string | undefined;
  /** Only deliveries of endpoints of this organization (null: platform endpoints). */
  organizationId?: string | null | undefined;
  status?: DeliveryStatus | readonly DeliveryStatus[] | undefined;
  eventType?: string | undefined;
  /** created_at ≥ since, < until. */
  since?: Date | undefined;
  until?: Date | undefined;
  limit: number;
  offset?: number | undefined;
}

function decodeDelivery(r: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    organizationId: r.organization_id,
    body: r.body,
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    responseStatus: r.response_status === null ? null : Number(r.response_status),
    responseBody: r.response_body,
    latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
    lastError: r.last_error,
    nextAttemptAt: toDateOrNull(r.next_attempt_at),
    jobId: r.job_id,
    replayOf: r.replay_of,
    eventCreatedAt: toDate(r.event_created_at),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    deliveredAt: toDateOrNull(r.delivered_at),
  };
}

export const webhookDeliveries = {
  async insertMany(ex: Executor, ds: readonly NewWebhookDelivery[], now: Date): Promise<void> {
    if (ds.length === 0) return;
    await ex
      .insertInto('webhook_deliveries')
      .values(
        ds.map((d) => ({
          id: d.id,
          endpoint_id: d.endpointId,
          event_id: d.eventId,
          event_type: d.eventType,
          organization_id: d.organizationId,
          body: d.body,
          status: 'pending',
          attempts: 0,
          response_status: null,
          response_body: null,
          latency_ms: null,
          last_error: null,
          next_attempt_at: now,
          job_id: d.jobId,
          replay_of: d.replayOf,
          event_created_at: d.eventCreatedAt,
          created_at: now,
          updated_at: now,
          delivered_at: null,
        })),
      )
      .execute();
  },

  async findById(ex: Executor, id: string): Promise<WebhookDelivery | undefined> {
    const row = await ex.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decodeDelivery(row);
  },

  /** Newest first. */
  async list(ex: Executor, f: DeliveryFilter): Promise<WebhookDelivery[]> {
    const rows = await filtered(ex, f)
      .selectAll('d')
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(f.limit)
      .offset(f.offset ?? 0)
      .execute();
    return rows.map(decodeDelivery);
  },

  async count(ex: Executor, f: Omit<DeliveryFilter, 'limit' | 'offset'>): Promise<number> {
    const row = await filtered(ex, { ...f, limit: 0 })
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /** Deliveries by status for one endpoint since `since`, and the mean latency of the answered ones. */
  async stats(
    ex: Executor,
    endpointId: string,
    since: Date | undefined,
  ): Promise<{
    byStatus: Record<string, number>;
    meanLatencyMs: number | null;
    lastDeliveredAt: Date | null;
  }> {
    let q = ex
      .selectFrom('webhook_deliveries')
      .select((eb) => [
        'status',
        eb.fn.countAll<number>().as('n'),
        eb.fn.avg<number>('latency_ms').as('latency'),
        eb.fn.max('delivered_at').as('last'),
      ])
      .where('endpoint_id', '=', endpointId);
    if (since) q = q.where('created_at', '>=', since);
    const rows = await q.groupBy('status').execute();
    const byStatus: Record<string, number> = {};
    let latencySum = 0;
    let latencyN = 0;
    let last: Date | null = null;
    for (const r of rows) {
      const n = Number(r.n);
      byStatus[r.status] = n;
      if (r.latency !== null) {
        latencySum += Number(r.latency) * n;
        latencyN += n;
      }
      const at = toDateOrNull(r.last as Date | number | string | null);
      if (at && (!last || at > last)) last = at;
    }
    return { byStatus, meanLatencyMs: latencyN ? latencySum / latencyN : null, lastDeliveredAt: last };
  },

  /** Records one attempt's outcome, unless the delivery was given another job meanwhile. */
  async record(ex: Executor, id: string, jobId: string, o: DeliveryOutcome, now: Date): Promise<void> {
    await ex
      .updateTable('webhook_deliveries')
      .set({
        status: o.status,
        attempts: o.attempts,
        response_status: o.responseStatus,
        response_body: o.responseBody,
        latency_ms: o.latencyMs,
        last_error: o.lastError,
        next_attempt_at: o.nextAttemptAt,
        updated_at: now,
        ...(o.deliveredAt ? { delivered_at: o.deliveredAt } : {}),
      })
      .where('id', '=', id)
      .where('job_id', '=', jobId)
      .execute();
  },

  /** Every delivery of an endpoint not finished yet gives up (the endpoint was disabled). */
  async failOpen(ex: Executor, endpointId: string, reason: string, now: Date): Promise<number> {
    const r = await ex
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', last_error: reason, next_attempt_at: null, updated_at: now })
      .where('endpoint_id', '=', endpointId)
      .where('status', 'in', ['pending', 'retrying'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },

  /** Retention: deliveries created before `before`, a page at a time. */
  deleteCreatedBefore(ex: Executor, before: Date, limit: number): Promise<number> {
    return deletePicked(ex, 'webhook_deliveries', 'id', (q) =>
      q.where('created_at', '<', before).orderBy('created_at').limit(limit),
    );
  },

  /**
   * A delivery with its endpoint, in one query (the delivery job's read before each attempt); the endpoint is
   * undefined when it is gone (its deliveries go with it, so only in a race).
   */
  async findWithEndpoint(
    ex: Executor,
    id: string,
  ): Promise<{ delivery: WebhookDelivery; endpoint: WebhookEndpoint | undefined } | undefined> {
    const row = await ex
      .selectFrom('webhook_deliveries as d')
      .leftJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .selectAll('d')
      .select([
        'e.id as e_id',
        'e.organization_id as e_organization_id',
        'e.url as e_url',
        'e.description as e_description',
        'e.events as e_events',
        'e.headers as e_headers',
        'e.secret_box as e_secret_box',
        'e.previous_secret_box as e_previous_secret_box',
        'e.previous_secret_expires_at as e_previous_secret_expires_at',
        'e.status as e_status',
        'e.disabled_reason as e_disabled_reason',
        'e.disabled_at as e_disabled_at',
        'e.failing_since as e_failing_since',
        'e.created_by as e_created_by',
        'e.created_at as e_created_at',
        'e.updated_at as e_updated_at',
      ])
      .where('d.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const endpoint =
      row.e_id === null
        ? undefined
        : decodeEndpoint({
            id: row.e_id,
            organization_id: row.e_organization_id,
            url: row.e_url!,
            description: row.e_description,
            events: row.e_events!,
            headers: row.e_headers!,
            secret_box: row.e_secret_box!,
            previous_secret_box: row.e_previous_secret_box,
            previous_secret_expires_at: row.e_previous_secret_expires_at,
            status: row.e_status!,
            disabled_reason: row.e_disabled_reason,
            disabled_at: row.e_disabled_at,
            failing_since: row.e_failing_since,
            created_by: row.e_created_by,
            created_at: row.e_created_at!,
            updated_at: row.e_updated_at!,
          } as Selectable<WebhookEndpointsTable>);
    return { delivery: decodeDelivery(row), endpoint };
  },

  /** The deliveries with these ids (any order; missing ids are simply absent). */
  async findByIds(ex: Executor, ids: readonly string[]): Promise<WebhookDelivery[]> {
    if (ids.length === 0) return [];
    const rows = await ex
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
    return rows.map(decodeDelivery);
  },

  /**
   * Oldest first, a keyset page: the rows after `after` in (created_at, id) order, up to `through` inclusive.
   * Keyset rather than OFFSET so a long walk (a replay window) costs the same per page and neither skips nor
   * repeats rows when others are inserted meanwhile.
   */
  async pageAfter(
    ex: Executor,
    f: Omit<DeliveryFilter, 'limit' | 'offset'> & {
      after?: { createdAt: Date; id: string } | undefined;
      through?: { createdAt: Date; id: string } | undefined;
      /** Only first deliveries (not replays) no replay was made of yet (resuming an interrupted replay). */
      unreplayed?: boolean | undefined;
      limit: number;
    },
  ): Promise<WebhookDelivery[]> {
    let q = filtered(ex, { ...f, limit: f.limit });
    if (f.unreplayed) q = unreplayedOnly(q);
    const after = f.after;
    if (after)
      q = q.where((eb) =>
        eb.or([
          eb('d.created_at', '>', after.createdAt),
          eb.and([eb('d.created_at', '=', after.createdAt), eb('d.id', '>', after.id)]),
        ]),
      );
    const through = f.through;
    if (through)
      q = q.where((eb) =>
        eb.or([
          eb('d.created_at', '<', through.createdAt),
          eb.and([eb('d.created_at', '=', through.createdAt), eb('d.id', '<=', through.id)]),
        ]),
      );
    const rows = await q
      .selectAll('d')
      .orderBy('d.created_at', 'asc')
      .orderBy('d.id', 'asc')
      .limit(f.limit)
      .execute();
    return rows.map(decodeDelivery);
  },

  /** The last row of a selection in (created_at, id) order: where a walk over it stops. */
  async lastOf(
    ex: Executor,
    f: Omit<DeliveryFilter, 'limit' | 'offset'> & { unreplayed?: boolean | undefined },
  ): Promise<{ createdAt: Date; id: string } | undefined> {
    let q = filtered(ex, { ...f, limit: 1 });
    if (f.unreplayed) q = unreplayedOnly(q);
    const row = await q
      .select(['d.created_at', 'd.id'])
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && { createdAt: toDate(row.created_at), id: row.id };
  },
};

/**
 * Only first deliveries (not replays themselves) that no replay was made of yet: what an interrupted replay of a
 * window has left to do (the NOT EXISTS uses the partial index on replay_of).
 */
function unreplayedOnly(q: ReturnType<typeof filtered>) {
  return q
    .where('d.replay_of', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('webhook_deliveries as r').select('r.id').whereRef('r.replay_of', '=', 'd.id'))),
    );
}

function filtered(ex: Executor, f: DeliveryFilter) {
  let q = ex.selectFrom('webhook_deliveries as d');
  if (f.endpointId) q = q.where('d.endpoint_id', '=', f.endpointId);
  if (f.organizationId !== undefined) {
    const org = f.organizationId;
    q = q.where('d.endpoint_id', 'in', (eb) => {
      const s = eb.selectFrom('webhook_endpoints').select('id');
      return org === null ? s.where('organization_id', 'is', null) : s.where('organization_id', '=', org);
    });
  }
  if (f.status) {
    const statuses = typeof f.status === 'string' ? [f.status] : [...f.status];
    q = q.where('d.status', 'in', statuses);
  }
  if (f.eventType) q = q.where('d.event_type', '=', f.eventType);
  if (f.since) q = q.where('d.created_at', '>=', f.since);
  if (f.until) q = q.where('d.created_at', '<', f.until);
  return q;
}
