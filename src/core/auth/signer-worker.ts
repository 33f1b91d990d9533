/**
 * A signing thread of the signer pool (signer-pool.ts): signs batches of JWS signing inputs with RS256
 * (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3), synchronously, one batch per message.
 */
import { type KeyObject, sign } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type ToWorker =
  | { kind: 'key'; kid: string; key: KeyObject }
  | { kind: 'sign'; id: number; kid: string; inputs: string[] };
export type FromWorker = { id: number; signatures: string[] } | { id: number; error: string };

const keys = new Map<string, KeyObject>();

parentPort?.on('message', (m: ToWorker) => {
  if (m.kind === 'key') {
    keys.set(m.kid, m.key);
    return;
  }
  try {
    const key = keys.get(m.kid);
    if (!key) throw new Error(`signer worker has no key ${m.kid}`);
    const signatures = m.inputs.map((input) => sign('sha256', Buffer.from(input), key).toString('base64url'));
    parentPort!.postMessage({ id: m.id, signatures } satisfies FromWorker);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: String((err as Error)?.message ?? err) } satisfies FromWorker);
  }
});
