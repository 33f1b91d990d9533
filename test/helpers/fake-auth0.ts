/**
 * A fake Auth0 tenant for the tests: HTTPS on 127.0.0.1 (random port) with a certificate signed by a CA
 * generated per instance, so the real `auth0` client and the spawned `janua` binary (NODE_EXTRA_CA_CERTS=caFile)
 * talk to it as to a tenant. Responses are shaped after Auth0's documented ones: `/oauth/token` (client
 * credentials and the password-realm grant), the users-export job and its gzipped NDJSON, offset-paged roles and
 * permissions, checkpoint-paged organizations, members and role users. Faults are injected per test; every
 * request is recorded for assertions ("no writes", "token refreshed", "retried after 429").
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generate } from 'selfsigned';
import type { Auth0Member, Auth0Permission, Auth0User } from '../../src/migrate/auth0/types.js';

/** A tenant user; `password` (plain) is what the password-realm grant accepts, never exported. */
export type FakeUser = Auth0User & { password?: string };
export interface FakeRole {
  id: string;
  name: string;
  description?: string;
  permissions?: Auth0Permission[];
  /** user_ids holding the role tenant-wide. */
  users?: string[];
}
export interface FakeOrg {
  id: string;
  name: string;
  display_name?: string;
  metadata?: Record<string, string>;
  /** Members and the ids of their organization roles (role ids from `roles`). */
  members?: Array<{ user_id: string; roles?: string[] }>;
}
export interface FakeAuth0Data {
  users: FakeUser[];
  roles?: FakeRole[];
  organizations?: FakeOrg[];
  /** Raw lines appended to the export's NDJSON (e.g. a broken JSON line). */
  extraExportLines?: string[];
}
export interface FakeAuth0Options {
  data: FakeAuth0Data;
  clientId?: string;
  clientSecret?: string;
  /** expires_in of Management API tokens (seconds; default 86400). */
  tokenTtlSeconds?: number;
  /** How many job polls answer `processing` before `completed` (default 1). */
  exportPolls?: number;
  /** The export job ends `failed` instead of `completed`. */
  exportFails?: boolean;
  /** The database connection (realm) the password-realm grant accepts (default Username-Password-Authentication). */
  realm?: string;
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** For /oauth/token: the grant type asked for. */
  grantType?: string;
  at: number;
}
export interface Fault {
  status: number;
  /** Only requests whose path matches (default: any /api/v2 request). */
  path?: RegExp;
  headers?: Record<string, string>;
  body?: unknown;
}

const REALM_GRANT = 'http://auth0.com/oauth/grant-type/password-realm';

export class FakeAuth0 {
  readonly requests: RecordedRequest[] = [];
  readonly clientId: string;
  readonly clientSecret: string;
  /** Requests the next matching API requests answer with, in order (one fault per request). */
  readonly faults: Fault[] = [];
  /** Export jobs created: id → fields asked for and polls so far. */
  readonly jobs = new Map<string, { fields: string[]; polls: number; format: string }>();
  private readonly tokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  private dir = '';
  url = '';
  domain = '';
  caPem = '';
  caFile = '';
  private server!: Server;

  private constructor(readonly opts: FakeAuth0Options) {
    this.clientId = opts.clientId ?? 'fake-client-id';
    this.clientSecret = opts.clientSecret ?? `fake-secret-${randomBytes(12).toString('hex')}`;
  }

  static async start(opts: FakeAuth0Options): Promise<FakeAuth0> {
    const f = new FakeAuth0(opts);
    const notAfterDate = new Date(Date.now() + 86_400_000);
    const ca = await generate([{ name: 'commonName', value: 'Janua test CA' }], {
      algorithm: 'sha256',
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
      algorithm: 'sha256',
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    f.dir = mkdtempSync(join(tmpdir(), 'fake-auth0-'));
    f.caPem = ca.cert;
    f.caFile = join(f.dir, 'ca.pem');
    writeFileSync(f.caFile, ca.cert);
    f.server = createServer({ key: leaf.private, cert: leaf.cert }, (req, res) => {
      f.handle(req, res).catch((err: unknown) => {
        f.send(req, res, 500, { statusCode: 500, error: 'Internal Server Error', message: String(err) });
      });
    });
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    const port = (f.server.address() as AddressInfo).port;
    f.domain = `127.0.0.1:${port}`;
    f.url = `https://${f.domain}`;
    return f;
  }

  /** The next `count` matching API requests answer 429 with Retry-After and x-ratelimit-reset. */
  rateLimitNext(count = 1, retryAfterSeconds = 1, path?: RegExp): void {
    const reset = String(Math.ceil(Date.now() / 1000) + retryAfterSeconds);
    for (let i = 0; i < count; i++)
      this.faults.push({
        status: 429,
        path,
        headers: {
          'retry-after': String(retryAfterSeconds),
          'x-ratelimit-limit': '10',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': reset,
        },
        body: { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached' },
      });
  }

  /** The next `count` matching API requests answer `status` (default 503). */
  failNext(count = 1, status = 503, path?: RegExp): void {
    for (let i = 0; i < count; i++)
      this.faults.push({
        status,
        path,
        body: { statusCode: status, error: 'Service Unavailable', message: 'Try again' },
      });
  }

  /** Revokes every token issued so far: their next use answers 401 (as an expired or invalidated token does). */
  revokeTokens(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  /** Management API tokens issued (client-credentials grants that succeeded). */
  get tokensIssued(): number {
    return this.requests.filter((r) => r.grantType === 'client_credentials' && r.status === 200).length;
  }

  /** Password-realm grants asked for (lazy migration). */
  get passwordGrants(): RecordedRequest[] {
    return this.requests.filter((r) => r.grantType === REALM_GRANT);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
    grantType?: string,
  ): boolean {
    const u = new URL(req.url ?? '/', 'https://x');
    this.requests.push({
      method: req.method ?? '',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      status,
      grantType,
      at: Date.now(),
    });
    if (res.headersSent) return true;
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': Buffer.isBuffer(body) ? 'application/gzip' : 'application/json; charset=utf-8',
      'content-length': String(raw.length),
      ...headers,
    });
    res.end(raw);
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'https://x');
    const path = u.pathname;
    const q = u.searchParams;

    if (req.method === 'POST' && path === '/oauth/token') return this.token(req, res, text);
    if (req.method === 'GET' && path.startsWith('/exports/')) return this.download(req, res, path);
    if (!path.startsWith('/api/v2/')) return this.send(req, res, 404, { error: 'not_found' });

    const fault = this.faults.findIndex((f) => !f.path || f.path.test(path));
    if (fault >= 0) {
      const [f] = this.faults.splice(fault, 1);
      return this.send(req, res, f!.status, f!.body ?? {}, f!.headers);
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const tok = bearer ? this.tokens.get(bearer) : undefined;
    if (!tok || tok.revoked || tok.expiresAt < Date.now())
      return this.send(req, res, 401, {
        statusCode: 401,
        error: 'Unauthorized',
        message: tok ? 'Expired token received for JSON Web Token validation' : 'Invalid token',
        attributes: { error: 'Invalid token' },
      });

    const api = path.slice('/api/v2'.length);
    const roles = this.opts.data.roles ?? [];
    const orgs = this.opts.data.organizations ?? [];
    let m = null as RegExpExecArray | null;
    const at = (re: RegExp) => {
      m = re.exec(api);
      return m !== null;
    };
    if (req.method === 'POST' && api === '/jobs/users-exports') return this.createJob(req, res, text);
    if (req.method !== 'GET')
      return this.send(req, res, 405, { statusCode: 405, error: 'Method Not Allowed', message: 'fake' });
    if (at(/^\/jobs\/([^/]+)$/)) return this.job(req, res, m![1]!);
    if (api === '/roles')
      return this.send(
        req,
        res,
        200,
        offsetPage(
          q,
          'roles',
          roles.map(({ id, name, description }) => ({ id, name, description })),
        ),
      );
    if (at(/^\/roles\/([^/]+)\/permissions$/)) {
      const role = roles.find((r) => r.id === m![1]);
      if (!role) return this.notFound(req, res, 'role');
      return this.send(req, res, 200, offsetPage(q, 'permissions', role.permissions ?? []));
    }
    if (at(/^\/roles\/([^/]+)\/users$/)) {
      const role = roles.find((r) => r.id === m![1]);
      if (!role) return this.notFound(req, res, 'role');
      const users = (role.users ?? []).map((id) => this.publicUser(id));
      return this.send(req, res, 200, checkpointPage(q, 'users', users));
    }
    if (api === '/organizations') {
      const list = orgs.map(({ id, name, display_name, metadata }) => ({ id, name, display_name, metadata }));
      return this.send(req, res, 200, checkpointPage(q, 'organizations', list));
    }
    if (at(/^\/organizations\/([^/]+)\/members$/)) {
      const org = orgs.find((o) => o.id === m![1]);
      if (!org) return this.notFound(req, res, 'organization');
      const fields = (q.get('fields') ?? '').split(',').filter(Boolean);
      const members = (org.members ?? []).map((mb): Auth0Member => {
        const full: Auth0Member = {
          ...this.publicUser(mb.user_id),
          // As Auth0: roles only when asked for with `fields=roles`.
          ...(fields.includes('roles')
            ? {
                roles: (mb.roles ?? []).map((rid) => ({
                  id: rid,
                  name: roles.find((r) => r.id === rid)?.name ?? rid,
                })),
              }
            : {}),
        };
        if (!fields.length || q.get('include_fields') === 'false') return full;
        return Object.fromEntries(Object.entries(full).filter(([k]) => fields.includes(k))) as Auth0Member;
      });
      return this.send(req, res, 200, checkpointPage(q, 'members', members));
    }
    return this.notFound(req, res, 'resource');
  }

  private notFound(req: IncomingMessage, res: ServerResponse, what: string): boolean {
    return this.send(req, res, 404, {
      statusCode: 404,
      error: 'Not Found',
      message: `The ${what} does not exist.`,
    });
  }

  private publicUser(id: string): { user_id: string; email?: string; name?: string; picture?: string } {
    const u = this.opts.data.users.find((x) => x.user_id === id);
    return { user_id: id, email: u?.email, name: u?.name, picture: u?.picture };
  }

  private token(req: IncomingMessage, res: ServerResponse, text: string): boolean {
    const p = /json/.test(req.headers['content-type'] ?? '')
      ? (JSON.parse(text || '{}') as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(text));
    const grant = p['grant_type'];
    const deny = (status: number, error: string, description: string) =>
      this.send(req, res, status, { error, error_description: description }, {}, grant);
    if (p['client_id'] !== this.clientId || !same(p['client_secret'] ?? '', this.clientSecret))
      return deny(401, 'access_denied', 'Unauthorized');
    if (grant === 'client_credentials') {
      const token = randomBytes(24).toString('base64url');
      const ttl = this.opts.tokenTtlSeconds ?? 86_400;
      this.tokens.set(token, { expiresAt: Date.now() + ttl * 1000, revoked: false });
      const body = {
        access_token: token,
        scope: 'read:users read:roles',
        expires_in: ttl,
        token_type: 'Bearer',
      };
      return this.send(req, res, 200, body, {}, grant);
    }
    if (grant === REALM_GRANT) {
      if (p['realm'] !== (this.opts.realm ?? 'Username-Password-Authentication'))
        return deny(403, 'invalid_request', 'Unknown realm');
      const name = (p['username'] ?? '').toLowerCase();
      const u = this.opts.data.users.find((x) => x.email?.toLowerCase() === name || x.username === name);
      if (!u?.password || !same(p['password'] ?? '', u.password) || u.blocked)
        return deny(403, 'invalid_grant', 'Wrong email or password.');
      const body = {
        access_token: randomBytes(24).toString('base64url'),
        expires_in: 86_400,
        token_type: 'Bearer',
      };
      return this.send(req, res, 200, body, {}, grant);
    }
    return deny(403, 'unsupported_grant_type', 'Unsupported grant type');
  }

  private createJob(req: IncomingMessage, res: ServerResponse, text: string): boolean {
    const body = JSON.parse(text || '{}') as { format?: string; fields?: Array<{ name: string }> };
    const id = `job_${randomBytes(8).toString('hex')}`;
    const fields = (body.fields ?? []).map((f) => f.name);
    this.jobs.set(id, { fields, polls: 0, format: body.format ?? 'csv' });
    return this.send(req, res, 201, {
      type: 'users_export',
      status: 'pending',
      format: body.format ?? 'csv',
      fields: body.fields,
      created_at: new Date().toISOString(),
      id,
    });
  }

  private job(req: IncomingMessage, res: ServerResponse, id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return this.notFound(req, res, 'job');
    job.polls++;
    const base = { type: 'users_export', id, format: job.format, created_at: new Date().toISOString() };
    if (job.polls <= (this.opts.exportPolls ?? 1))
      return this.send(req, res, 200, {
        ...base,
        status: 'processing',
        percentage_done: 50,
        time_left_seconds: 1,
      });
    if (this.opts.exportFails) return this.send(req, res, 200, { ...base, status: 'failed' });
    // Auth0 hands out a pre-signed storage URL: no Authorization header is needed (or sent) to fetch it.
    const location = `${this.url}/exports/${id}.json.gz?sig=${randomBytes(8).toString('hex')}`;
    return this.send(req, res, 200, { ...base, status: 'completed', location });
  }

  private download(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const id = /^\/exports\/(job_[0-9a-f]+)\.json\.gz$/.exec(path)?.[1];
    const job = id ? this.jobs.get(id) : undefined;
    if (!job) return this.send(req, res, 404, { error: 'NoSuchKey' });
    const lines = this.opts.data.users.map((u) => {
      const { password: _plain, ...rest } = u;
      const out: Record<string, unknown> = {};
      for (const f of job.fields)
        if ((rest as Record<string, unknown>)[f] !== undefined) out[f] = (rest as Record<string, unknown>)[f];
      return JSON.stringify(out);
    });
    lines.push(...(this.opts.data.extraExportLines ?? []));
    return this.send(req, res, 200, gzipSync(`${lines.join('\n')}\n`));
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Offset paging (`page`, `per_page`, `include_totals`), as GET /roles and /roles/{id}/permissions answer. */
function offsetPage<T>(q: URLSearchParams, key: string, items: T[]): unknown {
  const perPage = Math.min(Number(q.get('per_page') ?? 50), 100);
  const page = Number(q.get('page') ?? 0);
  const slice = items.slice(page * perPage, page * perPage + perPage);
  if (q.get('include_totals') !== 'true') return slice;
  return { start: page * perPage, limit: perPage, total: items.length, [key]: slice };
}

/** Checkpoint paging (`from`, `take`): `next` is present while more remain, as Auth0 answers. */
function checkpointPage<T>(q: URLSearchParams, key: string, items: T[]): unknown {
  const take = Math.min(Number(q.get('take') ?? 50), 100);
  const from = q.get('from') ? Number(Buffer.from(q.get('from')!, 'base64url').toString()) : 0;
  const slice = items.slice(from, from + take);
  const end = from + slice.length;
  return end < items.length
    ? { [key]: slice, next: Buffer.from(String(end)).toString('base64url') }
    : { [key]: slice };
}
