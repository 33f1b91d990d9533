/**
 * A real webhook receiver for the tests: node:http on 127.0.0.1, recording every request (headers, raw body,
 * what its signatures prove) and answering as told (200, 500, hang, redirect, an endless answer, or down).
 *
 * The verification is written from the specifications, deliberately without importing anything from src, so a
 * mistake in our signing cannot be mirrored here:
 *
 * - Standard Webhooks (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
 *   "Verifying webhook authenticity"): signed content is `${webhook-id}.${webhook-timestamp}.${body}`; the key is
 *   the base64-decoded part of the secret after `whsec_`; the signature is base64(HMAC-SHA256); the
 *   `webhook-signature` header holds space-delimited `v1,<signature>` entries, any of which may match; the
 *   timestamp must be within a tolerance (5 minutes) of the receiver's clock; compare in constant time.
 * - The original service's scheme (API.md "Contract notes"): `X-Webhook-Signature` is the lowercase hex
 *   HMAC-SHA256 of the raw body, keyed with the secret string itself.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Behaviour = 'ok' | 'fail' | 'hang' | 'redirect' | 'endless';

export interface Verification {
  /** Secrets (of those the receiver knows) whose signature is present and valid. */
  matched: string[];
  /** Entries in the header (Standard: `v1,` signatures; original: 1 when present). */
  signatures: number;
}

export interface Received {
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  body: string;
  /** The receiver's clock (ms) when the request arrived. */
  at: number;
  standard: Verification & { timestampOk: boolean; ok: boolean };
  original: Verification & { ok: boolean };
}

const TOLERANCE_S = 5 * 60;

function safeEq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Standard Webhooks: which secrets signed `id.timestamp.body`, and whether the timestamp is fresh. */
export function verifyStandard(
  secrets: readonly string[],
  id: string,
  timestamp: string,
  signatureHeader: string,
  raw: Buffer,
  nowMs: number,
): Received['standard'] {
  const given = signatureHeader
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), raw]);
  const matched = secrets.filter((secret) => {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(content).digest('base64');
    return given.some((g) => safeEq(g, expected));
  });
  const ts = Number(timestamp);
  const timestampOk = /^\d+$/.test(timestamp) && Math.abs(nowMs / 1000 - ts) <= TOLERANCE_S;
  return { matched, signatures: given.length, timestampOk, ok: matched.length > 0 && timestampOk };
}

/** The original scheme: hex HMAC-SHA256 of the raw body keyed with the secret string. */
export function verifyOriginal(
  secrets: readonly string[],
  signature: string,
  raw: Buffer,
): Received['original'] {
  const matched = secrets.filter((secret) =>
    safeEq(signature, createHmac('sha256', Buffer.from(secret, 'utf8')).update(raw).digest('hex')),
  );
  return { matched, signatures: signature ? 1 : 0, ok: matched.length > 0 };
}

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  received: Received[];
  /** Secrets the verification tries (set before the requests come). */
  secrets: string[];
  /** How requests to `path` (default: every path) are answered. */
  behave(mode: Behaviour, path?: string): void;
  /** Requests in flight that the receiver holds (hang). */
  hanging(): number;
  /** Bytes the endless answers wrote before the client dropped the connection. */
  endlessWritten: number[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(
  opts: { port?: number; secrets?: string[]; now?: () => number } = {},
): Promise<Receiver> {
  const now = opts.now ?? Date.now;
  const modes = new Map<string, Behaviour>();
  let fallback: Behaviour = 'ok';
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = opts.port ?? 0;

  const r: Receiver = {
    origin: '',
    port: 0,
    received: [],
    secrets: opts.secrets ?? [],
    endlessWritten: [],
    behave(mode, path) {
      if (path === undefined) {
        fallback = mode;
        modes.clear();
      } else modes.set(path, mode);
    },
    hanging: () => held.size,
    async down() {
      if (!server) return;
      const s = server;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const sock of sockets) sock.destroy();
      });
      held.clear();
    },
    async up() {
      if (server) return;
      server = createServer(handle);
      server.on('connection', (sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
      const addr = server.address();
      if (addr && typeof addr === 'object') port = addr.port;
      r.port = port;
      r.origin = `http://127.0.0.1:${port}`;
    },
    close: () => r.down(),
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const at = now();
      r.received.push({
        path,
        method: req.method ?? '',
        headers: { ...req.headers },
        raw,
        body: raw.toString('utf8'),
        at,
        standard: verifyStandard(
          r.secrets,
          header(req, 'webhook-id'),
          header(req, 'webhook-timestamp'),
          header(req, 'webhook-signature'),
          raw,
          at,
        ),
        original: verifyOriginal(r.secrets, header(req, 'x-webhook-signature'), raw),
      });
      const mode = modes.get(path) ?? fallback;
      switch (mode) {
        case 'ok':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          return;
        case 'fail':
          res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver failing on purpose');
          return;
        case 'redirect':
          res.writeHead(302, { location: '/redirected' }).end();
          return;
        case 'hang':
          held.add(res);
          res.on('close', () => held.delete(res));
          return;
        case 'endless': {
          // 64 KiB chunks for as long as the client reads: it must stop at its cap and drop the connection.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const chunk = Buffer.alloc(65536, 0x61);
          let written = 0;
          const pump = () => {
            while (!res.destroyed && written < 512 * 1024 * 1024) {
              written += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            res.end();
          };
          res.on('close', () => r.endlessWritten.push(written));
          pump();
          return;
        }
      }
    });
  }

  await r.up();
  return r;
}
