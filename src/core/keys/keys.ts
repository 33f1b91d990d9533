/**
 * Signing keys: RS256 key pairs in the database, private halves sealed under the master key.
 * Life cycle: `next` (published in JWKS, not signing) → `active` (signs) → `retired` (published until every
 * token it signed has expired) → pruned. Publishing `next` before it signs and `retired` after it stops means
 * a rotation never makes a verifier that caches JWKS see an unknown `kid`.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Clock } from '../clock.js';
import type { JanuaConfig } from '../config/schema.js';
import type { SecretBox } from '../crypto/secrets.js';
import { JanuaError } from '../errors.js';
import { audit, type RequestContext } from '../events/events.js';
import { type SigningKeyRow, signingKeys } from '../store/repos/signing-keys.js';
import { lockFor, type Store } from '../store/store.js';

const generateRsa = promisify(generateKeyPair);
export const SIGNING_ALG = 'RS256';
const SEAL_PURPOSE = 'signing-key';
/**
 * How long verifiers may cache the JWK Set (`Cache-Control: max-age`, plus `stale-while-revalidate`): a key is
 * published as `next` for at least this long before `keys.rotate` lets it sign.
 */
export const JWKS_MAX_AGE_S = 300;
export const JWKS_STALE_S = 60;

export interface KeyDeps {
  store: Store;
  clock: Clock;
  box: SecretBox;
  config: Pick<JanuaConfig, 'accessTokenMinutes' | 'clockSkewSeconds' | 'keysReloadSeconds'>;
}

async function newKey(box: SecretBox, state: 'next' | 'active', now: Date): Promise<SigningKeyRow> {
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk); // RFC 7638: a stable, content-derived key id
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    kid,
    alg: SIGNING_ALG,
    state,
    publicJwk: { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' } as Record<string, unknown>,
    privateKeyEnc: box.seal(SEAL_PURPOSE, pem),
    createdAt: now,
    activatedAt: state === 'active' ? now : null,
    retiredAt: null,
    expiresAt: null,
  };
}

export function openPrivateKey(box: SecretBox, row: SigningKeyRow): string {
  try {
    return box.open(SEAL_PURPOSE, row.privateKeyEnc);
  } catch {
    throw new JanuaError(
      'INTERNAL_ERROR',
      `signing key ${row.kid} cannot be decrypted: the master key does not match the one it was sealed with`,
    );
  }
}

/** A key as operators see it (`janua keys list --json`, the admin system view): no key material. */
export function presentKey(k: SigningKeyRow) {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    created_at: k.createdAt.toISOString(),
    activated_at: k.activatedAt?.toISOString() ?? null,
    retired_at: k.retiredAt?.toISOString() ?? null,
    retires_at: k.expiresAt?.toISOString() ?? null,
  };
}

export async function listKeys(deps: Pick<KeyDeps, 'store'>): Promise<SigningKeyRow[]> {
  return signingKeys.list(deps.store.db);
}

/**
 * How long past the last possible `exp` of its tokens a retired key stays published. After a rotation a node
 * may sign with the old key until its next reload (JANUA_KEYS_RELOAD_SECONDS); that token's `exp` comes from
 * the signer's clock, which may run ahead of the rotating process's by the skew K (JWT_CLOCK_SKEW_SECONDS); a
 * verifier accepts it up to K past `exp`; and `janua keys prune` reads a clock that may run K ahead of the
 * verifier's. With every two clocks within K of each other: reload + 3K.
 */
export function retirementMarginMs(config: KeyDeps['config']): number {
  return (config.keysReloadSeconds + 3 * config.clockSkewSeconds) * 1000;
}

function retiredUntil(deps: KeyDeps, now: Date): Date {
  return new Date(now.getTime() + deps.config.accessTokenMinutes * 60_000 + retirementMarginMs(deps.config));
}

/** Makes sure there is an active and a next key (first start, or after keys were retired by hand). */
export async function ensureKeys(deps: KeyDeps): Promise<boolean> {
  const have = await signingKeys.list(deps.store.db);
  if (have.some((k) => k.state === 'active') && have.some((k) => k.state === 'next')) return false;
  const now = deps.clock.now();
  const [a, n] = await Promise.all([newKey(deps.box, 'active', now), newKey(deps.box, 'next', now)]);
  return deps.store.transaction(async (tx) => {
    await lockFor(deps.store, tx, 'signing-keys');
    const current = await signingKeys.list(tx);
    let changed = false;
    if (!current.some((k) => k.state === 'active')) {
      const promote = current.find((k) => k.state === 'next');
      if (promote) await signingKeys.activate(tx, promote.kid, now);
      else await signingKeys.insert(tx, a);
      changed = true;
    }
    const after = changed ? await signingKeys.list(tx) : current;
    if (!after.some((k) => k.state === 'next')) {
      await signingKeys.insert(tx, n);
      changed = true;
    }
    if (changed) await audit(tx, { actorType: 'system' }, { action: 'keys.created', metadata: {} }, now);
    return changed;
  });
}

export interface RotationResult {
  activated: string;
  retired: string[];
  next: string;
}

/** next → active, a new next, the old active → retired (published until its tokens expire). */
export async function rotateKeys(deps: KeyDeps, ctx: RequestContext): Promise<RotationResult> {
  const now = deps.clock.now();
  const [fresh, spare] = await Promise.all([newKey(deps.box, 'next', now), newKey(deps.box, 'active', now)]);
  return deps.store.transaction(async (tx) => {
    await lockFor(deps.store, tx, 'signing-keys');
    const current = await signingKeys.list(tx);
    const next = current.find((k) => k.state === 'next');
    let activated: string;
    if (next) {
      await signingKeys.activate(tx, next.kid, now);
      activated = next.kid;
    } else {
      await signingKeys.insert(tx, spare);
      activated = spare.kid;
    }
    const retired: string[] = [];
    for (const k of current.filter((k) => k.state === 'active')) {
      await signingKeys.retire(tx, k.kid, now, retiredUntil(deps, now));
      retired.push(k.kid);
    }
    await signingKeys.insert(tx, fresh);
    const result = { activated, retired, next: fresh.kid };
    await audit(
      tx,
      ctx,
      { action: 'keys.rotated', targetType: 'signing_key', targetId: activated, metadata: { ...result } },
      now,
    );
    return result;
  });
}

/**
 * Retires one key. Retiring the active key rotates first, so there is always a signer. With `immediately`,
 * the key leaves JWKS at the next prune (for a compromised key: its tokens stop verifying).
 */
export async function retireKey(
  deps: KeyDeps,
  kid: string,
  ctx: RequestContext,
  immediately = false,
): Promise<SigningKeyRow> {
  const key = (await signingKeys.list(deps.store.db)).find((k) => k.kid === kid);
  if (!key) throw new JanuaError('NOT_FOUND_ERROR', `no signing key with kid ${kid}`);
  if (key.state === 'active') await rotateKeys(deps, ctx);
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await signingKeys.retire(tx, kid, now, immediately ? now : (key.expiresAt ?? retiredUntil(deps, now)));
    await audit(
      tx,
      ctx,
      { action: 'keys.retired', targetType: 'signing_key', targetId: kid, metadata: { immediately } },
      now,
    );
  });
  if (key.state === 'next') await ensureKeys(deps);
  const after = (await signingKeys.list(deps.store.db)).find((k) => k.kid === kid);
  return after!;
}

/** Removes retired keys whose every token has expired. */
export async function pruneKeys(deps: KeyDeps, ctx: RequestContext): Promise<string[]> {
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const removed = await signingKeys.deleteExpired(tx, now);
    if (removed.length) await audit(tx, ctx, { action: 'keys.pruned', metadata: { kids: removed } }, now);
    return removed;
  });
}

export type PublicJwk = JWK & { kid: string };
