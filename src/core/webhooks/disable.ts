/**
 * Auto-disable: an endpoint whose deliveries have all failed for WEBHOOK_DISABLE_AFTER_DAYS (measured from
 * `failing_since`, the first failure after the last success) is disabled — in one transaction: the endpoint
 * (status disabled, reason `failing`), its open deliveries given up, an audit row and a
 * `webhook.endpoint.disabled` event (other endpoints, e.g. the platform's, can subscribe to it).
 */
import type { Deps } from '../deps.js';
import { audit, emit, SYSTEM_CONTEXT } from '../events/events.js';
import { type WebhookEndpoint, webhookDeliveries } from '../store/repos/webhooks.js';

const DAY_MS = 86_400_000;

export function dueForDisable(
  ep: Pick<WebhookEndpoint, 'failingSince'>,
  now: Date,
  disableAfterDays: number,
): boolean {
  return ep.failingSince !== null && now.getTime() - ep.failingSince.getTime() >= disableAfterDays * DAY_MS;
}

/** Disables `ep` for failing; false when it was no longer active (another node did it, or an admin). */
export async function disableFailingEndpoint(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  ep: WebhookEndpoint,
): Promise<boolean> {
  const now = deps.clock.now();
  const days = deps.config.webhookDisableAfterDays;
  return deps.store.transaction(async (tx) => {
    const r = await tx
      .updateTable('webhook_endpoints')
      .set({ status: 'disabled', disabled_reason: 'failing', disabled_at: now, updated_at: now })
      .where('id', '=', ep.id)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    const reason = `endpoint disabled: every delivery failed for ${days} days (since ${ep.failingSince?.toISOString()})`;
    const given = await webhookDeliveries.failOpen(tx, ep.id, reason, now);
    await audit(
      tx,
      SYSTEM_CONTEXT,
      {
        action: 'webhook.endpoint.disabled',
        targetType: 'webhook_endpoint',
        targetId: ep.id,
        metadata: {
          reason: 'failing',
          failing_since: ep.failingSince?.toISOString() ?? null,
          organization_id: ep.organizationId,
          deliveries_given_up: given,
        },
      },
      now,
    );
    await emit(
      tx,
      'webhook.endpoint.disabled',
      { type: 'webhook_endpoint', id: ep.id },
      {
        endpoint_id: ep.id,
        organization_id: ep.organizationId,
        url: ep.url,
        reason: 'failing',
        failing_since: ep.failingSince?.toISOString() ?? null,
        disabled_at: now.toISOString(),
      },
      now,
    );
    return true;
  });
}
