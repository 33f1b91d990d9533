import { createPrivateKey, type KeyObject } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type { SecretBox } from '../crypto/secrets.js';
import { JanuaError } from '../errors.js';
import { signingKeys } from '../store/repos/signing-keys.js';
import type { Store } from '../store/store.js';
import { openPrivateKey, SIGNING_ALG } from './keys.js';

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;
/** A private key as a KeyObject: what node:crypto signs with, and what can be handed to worker threads. */
type SignKey = KeyObject;

interface Snapshot {
  signer: { kid: string; key: SignKey } | undefined;
  verifiers: Map<string, VerifyKey>;
  jwks: { keys: JWK[] };
  /** `jwks` as UTF-8 JSON, serialized and encoded once per load: the JWKS endpoint sends it as it is. */
  jwksJson: Buffer;
  loadedAt: number;
}

/** The public members of an RSA JWK (RFC 7517 §4, RFC 7518 §6.3.1); nothing else may leave. */
const PUBLIC_JWK_MEMBERS = ['kty', 'kid', 'use', 'alg', 'n', 'e'] as const;

function jwksBytes(jwks: { keys: JWK[] }): Buffer {
  const keys = jwks.keys.map((k) => {
    const out: Record<string, unknown> = {};
    for (const m of PUBLIC_JWK_MEMBERS) if (typeof k[m] === 'string') out[m] = k[m];
    return out;
  });
  return Buffer.from(JSON.stringify({ keys }), 'utf8');
}

/** Least time between two reloads triggered by an unknown `kid`, so forged kids cannot hammer the database. */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/**
 * The in-memory view of the signing keys a process works with. Every node reloads it from the database on an
 * interval (`JANUA_KEYS_RELOAD_SECONDS`) and when a token names a `kid` it does not know, so a rotation done
 * by `janua keys rotate` on any machine reaches every daemon within that interval.
 */
export class KeyRing {
  private snap: Snapshot = {
    signer: undefined,
    verifiers: new Map(),
    jwks: { keys: [] },
    jwksJson: Buffer.from('{"keys":[]}'),
    loadedAt: 0,
  };
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  async load(): Promise<void> {
    this.inflight ??= this.doLoad().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async doLoad(): Promise<void> {
    const rows = await signingKeys.list(this.store.db);
    const verifiers = new Map<string, VerifyKey>();
    const keys: JWK[] = [];
    let signer: Snapshot['signer'];
    for (const row of rows) {
      const jwk = row.publicJwk as JWK;
      verifiers.set(row.kid, this.snap.verifiers.get(row.kid) ?? (await importJWK(jwk, SIGNING_ALG)));
      keys.push(jwk);
      if (row.state === 'active' && !signer) {
        // Rows come newest first, so with two active keys (mid-rotation on another node) the newer signs.
        const existing = this.snap.signer?.kid === row.kid ? this.snap.signer : undefined;
        signer = existing ?? {
          kid: row.kid,
          key: createPrivateKey(openPrivateKey(this.box, row)),
        };
      }
    }
    const jwks = { keys };
    this.snap = { signer, verifiers, jwks, jwksJson: jwksBytes(jwks), loadedAt: Date.now() };
  }

  /** Reloads every `intervalSeconds`; a failed reload keeps the last good key set and goes to `onError`. */
  start(intervalSeconds: number, onError: (err: unknown) => void = () => {}): void {
    this.stop();
    this.timer = setInterval(() => {
      this.load().catch(onError);
    }, intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  signer(): { kid: string; key: SignKey } {
    const s = this.snap.signer;
    if (!s)
      throw new JanuaError(
        'INTERNAL_ERROR',
        'no active signing key: run `janua keys rotate` or restart `janua serve`',
      );
    return s;
  }

  /** The verification key for `kid`, reloading once (throttled) if the kid is new to this node. */
  async verifier(kid: string): Promise<VerifyKey | undefined> {
    const known = this.snap.verifiers.get(kid);
    if (known) return known;
    if (Date.now() - this.snap.loadedAt >= UNKNOWN_KID_RELOAD_MS) await this.load();
    return this.snap.verifiers.get(kid);
  }

  jwks(): { keys: JWK[] } {
    return this.snap.jwks;
  }

  /** The JWK Set as UTF-8 JSON (public members only), serialized once per key-set load. */
  jwksJson(): Buffer {
    return this.snap.jwksJson;
  }

  /** Whether this process can use its keys (the `kms` line of /health/detailed). */
  healthy(): boolean {
    return this.snap.signer !== undefined;
  }
}
