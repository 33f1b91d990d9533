import { createPrivateKey, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
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

/**
 * Least time between two reloads triggered by unknown `kid`s, so forged kids cost at most one small query a
 * second. Counted from the last such reload, not from the periodic ones: with a reload interval shorter than
 * this, a key activated since the last periodic reload must still be found.
 */
const UNKNOWN_KID_RELOAD_MS = 1_000;

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
  };
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  /** When an unknown `kid` last started a reload (monotonic ms). */
  private kidReloadAt = Number.NEGATIVE_INFINITY;
  /** The reload unknown kids wait for, until it starts reading (later kids then need the one after it). */
  private kidReload: { done: Promise<void>; started: boolean } | undefined;

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
    this.snap = { signer, verifiers, jwks, jwksJson: jwksBytes(jwks) };
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

  /**
   * The verification key for `kid`. A kid new to this node (a key activated since this node last reloaded,
   * e.g. by a rotation another node picked up first) waits for a reload that starts after it was asked for:
   * never a 401 for a valid token, and one reload per UNKNOWN_KID_RELOAD_MS at most, however many kids ask.
   */
  async verifier(kid: string): Promise<VerifyKey | undefined> {
    const known = this.snap.verifiers.get(kid);
    if (known) return known;
    await this.reloadForUnknownKid();
    return this.snap.verifiers.get(kid);
  }

  /**
   * Joins the next unknown-kid reload if it has not started reading yet (what it reads is then newer than the
   * token that asks), else queues one after it. A reload already in flight may have read before the key was
   * committed, so the queued one waits for it and then reads again.
   */
  private reloadForUnknownKid(): Promise<void> {
    const pending = this.kidReload;
    if (pending && !pending.started) return pending.done;
    const entry: { done: Promise<void>; started: boolean } = { done: Promise.resolve(), started: false };
    entry.done = (async () => {
      await pending?.done.catch(() => {});
      const wait = this.kidReloadAt + UNKNOWN_KID_RELOAD_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await this.inflight?.catch(() => {});
      entry.started = true;
      this.kidReloadAt = performance.now();
      try {
        await this.load();
      } finally {
        if (this.kidReload === entry) this.kidReload = undefined;
      }
    })();
    this.kidReload = entry;
    return entry.done;
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
