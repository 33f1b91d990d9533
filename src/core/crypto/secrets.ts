import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/** A random secret a user or client holds: 256 bits, URL-safe. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Hash of a high-entropy secret (refresh tokens, one-time links) for storage. A fast hash is right here:
 * the input has ≥128 bits of entropy, so there is nothing to brute-force; bcrypt is for passwords.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time string comparison (lengths are not secret). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** The id of a master key: 8 base64url characters of a hash of a key derived for this use, never the key. */
export function masterKeyId(master: Buffer): string {
  const derived = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'janua:key-id', 32));
  return createHash('sha256').update(derived).digest().subarray(0, 6).toString('base64url');
}

interface Master {
  id: string;
  key: Buffer;
  /** HKDF-derived keys by purpose (derivation is cheap but not free, and opens happen per delivery). */
  derived: Map<string, Buffer>;
}

const unrecognised = () => new Error('unrecognised sealed secret');

/**
 * Envelope for secrets at rest (signing keys, TOTP seeds, webhook secrets, peppers): AES-256-GCM under a key
 * derived from the master key with HKDF per purpose, so one leaked derived key does not open the others; the
 * purpose is also the AAD, so an envelope cannot be moved to another field.
 *
 * Format `v2.<key id>.<iv>.<tag>.<ciphertext>` (base64url). The key id names the master key that sealed it,
 * so the master key can be rotated: the box seals with the current key and opens with the current or any
 * previous one (JANUA_MASTER_KEY_PREVIOUS), and `janua keys rotate-master` re-seals what is not current.
 * `v1.<iv>.<tag>.<ciphertext>` (before key ids) is still opened, by trying each known key (GCM's tag tells).
 */
export class SecretBox {
  private readonly current: Master;
  private readonly byId: Map<string, Master>;

  constructor(masterKey: Buffer, previous: readonly Buffer[] = []) {
    for (const k of [masterKey, ...previous])
      if (k.length < 32) throw new Error('master key must be at least 32 bytes');
    const make = (key: Buffer): Master => ({ id: masterKeyId(key), key, derived: new Map() });
    this.current = make(masterKey);
    this.byId = new Map([this.current, ...previous.map(make)].map((m) => [m.id, m]));
    // A previous key equal to the current one is the current one (byId keeps one entry per id).
    this.byId.set(this.current.id, this.current);
  }

  /** The current master key's id (what `seal` writes). */
  get keyId(): string {
    return this.current.id;
  }

  /** Ids of every master key this box can open with, the current one first. */
  get keyIds(): string[] {
    return [this.current.id, ...[...this.byId.keys()].filter((id) => id !== this.current.id)];
  }

  private key(master: Master, purpose: string): Buffer {
    let k = master.derived.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), `janua:${purpose}`, 32));
      master.derived.set(purpose, k);
    }
    return k;
  }

  /** A box for processes without a master key: every use fails with a message saying what to set. */
  static unavailable(): SecretBox {
    const box = Object.create(SecretBox.prototype) as SecretBox;
    const fail = () => {
      throw new Error(
        'no master key: set JANUA_MASTER_KEY or JANUA_MASTER_KEY_FILE (the key `janua serve` uses)',
      );
    };
    Object.assign(box, { seal: fail, open: fail, sealedWith: fail });
    return box;
  }

  seal(purpose: string, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.current, purpose), iv);
    cipher.setAAD(Buffer.from(purpose));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      'v2',
      this.current.id,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      ct.toString('base64url'),
    ].join('.');
  }

  /**
   * The id of the master key an envelope names (v2), or null for a v1 envelope (no id). Reads the header
   * only; nothing is decrypted.
   */
  sealedWith(sealed: string): string | null {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) return parts[1]!;
    if (parts[0] === 'v1' && parts.length === 4) return null;
    throw unrecognised();
  }

  open(purpose: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const [, id, iv, tag, ct] = parts as [string, string, string, string, string];
      const master = this.byId.get(id);
      if (!master) {
        throw new Error(
          `sealed under master key ${id}, which is not configured: set it in JANUA_MASTER_KEY_PREVIOUS (keys known: ${this.keyIds.join(', ')})`,
        );
      }
      return this.decrypt(master, purpose, iv, tag, ct);
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      const [, iv, tag, ct] = parts as [string, string, string, string];
      let last: unknown;
      for (const master of this.byId.values()) {
        try {
          return this.decrypt(master, purpose, iv, tag, ct);
        } catch (err) {
          last = err;
        }
      }
      throw last;
    }
    throw unrecognised();
  }

  private decrypt(master: Master, purpose: string, iv: string, tag: string, ct: string): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key(master, purpose), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}
