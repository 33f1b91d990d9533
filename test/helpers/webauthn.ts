/**
 * A software authenticator for contract and API tests that run without a browser: it makes real P-256
 * credentials, "none" attestations and signed assertions (WebAuthn §6.1 authenticator data, §6.5.4
 * attestation object, COSE keys per RFC 9053) so the server's verification runs on genuine bytes. The
 * browser suite (test/e2e/passkeys-browser.test.ts) covers the same ceremonies with Chromium's own
 * virtual authenticator.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/** Just enough CBOR (RFC 8949) for attestation objects and COSE keys: ints, byte and text strings, maps. */
function cbor(v: unknown): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  if (v instanceof Map) {
    const parts: Buffer[] = [head(5, v.size)];
    for (const [k, val] of v) parts.push(cbor(k), cbor(val));
    return Buffer.concat(parts);
  }
  throw new Error(`cbor: unsupported ${typeof v}`);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const b64 = (b: Buffer) => b.toString('base64url');

export interface SoftCredential {
  id: Buffer;
  key: KeyObject;
  userHandle: string;
  counter: number;
}

export interface CeremonyOverrides {
  origin?: string;
  /** User verified (UV flag). Default true. */
  uv?: boolean;
  /** User present (UP flag). Default true. */
  up?: boolean;
  rpId?: string;
  type?: string;
  /** Sign a different challenge than the one in the options. */
  challenge?: string;
  /** Use this counter instead of the next one. */
  counter?: number;
  /** Flip a byte of the signature. */
  badSignature?: boolean;
}

interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(
    readonly rpId: string,
    readonly origin: string,
  ) {}

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter >>> 0);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), c, ...(attested ? [attested] : [])]);
  }

  private flags(o: CeremonyOverrides, attested: boolean): number {
    return (o.up === false ? 0 : 0x01) | (o.uv === false ? 0 : 0x04) | (attested ? 0x40 : 0);
  }

  private clientData(type: string, challenge: string, o: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: o.type ?? type,
        challenge: o.challenge ?? challenge,
        origin: o.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
  }

  /** navigator.credentials.create(): a new credential and its registration response JSON. */
  create(options: CreationOptions, o: CeremonyOverrides = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const id = randomBytes(32);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(id.length);
    const attested = Buffer.concat([Buffer.alloc(16), len, id, cose]);
    const counter = o.counter ?? 0;
    const authData = this.authData(
      o.rpId ?? options.rp.id ?? this.rpId,
      this.flags(o, true),
      counter,
      attested,
    );
    const attestationObject = cbor(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const cred: SoftCredential = { id, key: privateKey, userHandle: options.user.id, counter };
    this.credentials.push(cred);
    return {
      credential: cred,
      response: {
        id: b64(id),
        rawId: b64(id),
        type: 'public-key',
        response: {
          clientDataJSON: b64(this.clientData('webauthn.create', options.challenge, o)),
          attestationObject: b64(attestationObject),
          transports: ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      },
    };
  }

  /** navigator.credentials.get(): an assertion by `cred` (default: the first allowed, else the newest). */
  get(options: RequestOptions, o: CeremonyOverrides & { credential?: SoftCredential } = {}) {
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [];
    const cred =
      o.credential ??
      (allowed.length
        ? this.credentials.find((c) => allowed.includes(b64(c.id)))
        : this.credentials[this.credentials.length - 1]);
    if (!cred) throw new Error('SoftAuthenticator: no credential for these options');
    const counter = o.counter ?? ++cred.counter;
    const authData = this.authData(o.rpId ?? options.rpId ?? this.rpId, this.flags(o, false), counter);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, o);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.key);
    // A bit of r flipped (DER: 30 len 02 rlen r…): still well-formed, no longer valid.
    if (o.badSignature) signature[8] = (signature[8] ?? 0) ^ 0x01;
    return {
      id: b64(cred.id),
      rawId: b64(cred.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64(clientDataJSON),
        authenticatorData: b64(authData),
        signature: b64(signature),
        userHandle: cred.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
