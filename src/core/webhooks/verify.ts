/**
 * `POST /api/v1/webhooks/verify-signature`: checks a signature the way a receiver would, for people writing
 * one. Two schemes (see ./signing.ts): the original's hex HMAC-SHA256 of the payload keyed with the secret string,
 * and, when the message id and timestamp are given, Standard Webhooks' `v1,<base64>` over `id.timestamp.payload`
 * (any of several space-separated signatures may match). Comparisons are constant-time.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import { validation } from '../errors.js';
import type { Actor } from '../rbac/access.js';
import { loadEndpoint } from './access.js';
import { liveSecrets } from './endpoints.js';
import { standardKey } from './secrets.js';

export interface VerifyInput {
  payload: string;
  signature: string;
  /** The secret to check with; or `webhookId`, an endpoint the caller may read (its live secrets). */
  secret?: string | undefined;
  webhookId?: string | undefined;
  /** Standard Webhooks: the `webhook-id` and `webhook-timestamp` headers received. */
  messageId?: string | undefined;
  timestamp?: string | undefined;
}

function originalMatches(secret: string, payload: string, signature: string): boolean {
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(payload, 'utf8').digest('hex');
  const given = signature.startsWith('sha256=') ? signature.slice(7) : signature;
  return safeEqual(expected, given.toLowerCase());
}

function standardMatches(
  secret: string,
  id: string,
  ts: string,
  payload: string,
  signature: string,
): boolean {
  const expected = createHmac('sha256', standardKey(secret))
    .update(`${id}.${ts}.${payload}`, 'utf8')
    .digest('base64');
  let ok = false;
  for (const part of signature.split(' ')) {
    const [version, sig] = part.split(',', 2);
    // Every candidate is compared (no early exit), so timing does not tell which one matched.
    if (version === 'v1' && sig !== undefined && safeEqual(expected, sig)) ok = true;
  }
  return ok;
}

export async function verifySignature(
  deps: Pick<Deps, 'store' | 'box' | 'clock'>,
  actor: Actor,
  input: VerifyInput,
): Promise<{ valid: boolean; scheme: 'standard' | 'original' }> {
  let secrets: string[];
  if (input.secret !== undefined) secrets = [input.secret];
  else if (input.webhookId !== undefined)
    secrets = liveSecrets(deps, await loadEndpoint(deps, actor, input.webhookId, 'webhooks:read'));
  else
    throw validation('give the secret, or the webhook_id of an endpoint you manage', { secret: 'required' });
  const standard = input.messageId !== undefined || input.timestamp !== undefined;
  if (standard && (input.messageId === undefined || input.timestamp === undefined))
    throw validation('the Standard Webhooks scheme needs both message_id and timestamp', {
      timestamp: 'required',
    });
  let valid = false;
  for (const s of secrets) {
    const ok = standard
      ? standardMatches(s, input.messageId!, input.timestamp!, input.payload, input.signature)
      : originalMatches(s, input.payload, input.signature);
    if (ok) valid = true;
  }
  return { valid, scheme: standard ? 'standard' : 'original' };
}
