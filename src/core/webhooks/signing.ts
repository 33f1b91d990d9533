/**
 * The signature headers of one delivery attempt, in both schemes a receiver may verify:
 *
 * - Standard Webhooks (https://www.standardwebhooks.com, "Signature scheme"): `webhook-id`, `webhook-timestamp`
 *   (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the
 *   decoded secret; several space-separated signatures while a rotated-out secret still signs.
 * - The original service's: `X-Webhook-ID`, `X-Webhook-Timestamp`, `X-Webhook-Event` and
 *   `X-Webhook-Signature: <hex HMAC-SHA256 of the raw body>` keyed with the secret string (API.md, "Contract
 *   notes"). That scheme does not sign the timestamp; the Standard one does, which is why it is recommended.
 *   With two live secrets the header carries the current secret's signature only (its receivers compare one
 *   value).
 */
import { createHmac } from 'node:crypto';
import { standardKey } from './secrets.js';

export interface SignInput {
  /** The event id: the same on every attempt and replay, so receivers dedupe on it. */
  id: string;
  eventType: string;
  body: string;
  /** When this attempt is sent. */
  at: Date;
  /** The current secret first, then a rotated-out one still in its grace period. */
  secrets: readonly string[];
}

export function signatureHeaders(s: SignInput): Record<string, string> {
  const timestamp = String(Math.floor(s.at.getTime() / 1000));
  const signed = `${s.id}.${timestamp}.${s.body}`;
  const standard = s.secrets
    .map(
      (secret) => `v1,${createHmac('sha256', standardKey(secret)).update(signed, 'utf8').digest('base64')}`,
    )
    .join(' ');
  const [current] = s.secrets;
  const original = createHmac('sha256', Buffer.from(current ?? '', 'utf8'))
    .update(s.body, 'utf8')
    .digest('hex');
  return {
    'webhook-id': s.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': standard,
    'x-webhook-id': s.id,
    'x-webhook-timestamp': timestamp,
    'x-webhook-event': s.eventType,
    'x-webhook-signature': original,
  };
}
