/**
 * Endpoints and deliveries as the API and `janua webhooks --json` show them. The signing secret is never
 * shown here: `secret` carries a mask (`whsec_…` + its last 4 characters; the original SDK's endpoint object
 * has the field), except in the answer of create and rotate, which add the secret itself once.
 */
import type { WebhookDelivery, WebhookEndpoint } from '../store/repos/webhooks.js';
import { SECRET_PREFIX } from './secrets.js';

export function maskSecret(secret: string): string {
  return `${SECRET_PREFIX}…${secret.slice(-4)}`;
}

/** `hint`: the mask, computed by the caller that opened the secret (this module never opens one). */
export function presentEndpoint(e: WebhookEndpoint, hint: string) {
  return {
    id: e.id,
    url: e.url,
    secret: hint,
    events: e.events,
    is_active: e.status === 'active',
    description: e.description,
    headers: e.headers,
    organization_id: e.organizationId,
    status: e.status,
    disabled_reason: e.disabledReason,
    disabled_at: e.disabledAt?.toISOString() ?? null,
    failing_since: e.failingSince?.toISOString() ?? null,
    previous_secret_expires_at: e.previousSecretExpiresAt?.toISOString() ?? null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
  };
}
export type EndpointView = ReturnType<typeof presentEndpoint>;

export function presentDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    endpoint_id: d.endpointId,
    webhook_id: d.endpointId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    response_status: d.responseStatus,
    latency_ms: d.latencyMs,
    last_error: d.lastError,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
    delivered_at: d.deliveredAt?.toISOString() ?? null,
    replay_of: d.replayOf,
  };
}
export type DeliveryView = ReturnType<typeof presentDelivery>;

/** One delivery in full: the exact body sent and the start of the last answer. */
export function presentDeliveryFull(d: WebhookDelivery) {
  return { ...presentDelivery(d), body: d.body, response_body: d.responseBody };
}
