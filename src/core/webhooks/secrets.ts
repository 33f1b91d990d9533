/**
 * Endpoint signing secrets. The format is the Standard Webhooks one: `whsec_` and the base64 of 24–64 random
 * bytes; the HMAC key of the `webhook-signature` scheme is those decoded bytes. The original service's
 * `X-Webhook-Signature` is keyed with the secret string itself (UTF-8 bytes), so one secret serves both.
 *
 * Secrets must be read back to sign, so they are sealed under the master key (AES-256-GCM, a key derived for
 * this purpose only), never hashed; they are shown once, when made or rotated.
 */
import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../crypto/secrets.js';

export const SECRET_PREFIX = 'whsec_';
const SECRET_PURPOSE = 'webhook-secret';
/** 32 bytes: 256 bits, the HMAC-SHA256 block-size-friendly length Standard Webhooks libraries generate. */
const SECRET_BYTES = 32;

export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export function sealSecret(box: SecretBox, secret: string): string {
  return box.seal(SECRET_PURPOSE, secret);
}

export function openSecret(box: SecretBox, sealed: string): string {
  return box.open(SECRET_PURPOSE, sealed);
}

/** The HMAC key of the Standard Webhooks scheme: the base64 after `whsec_`. */
export function standardKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(b64, 'base64');
}
