/**
 * Per-IP rate limiting: a per-minute and a per-hour window for every route, plus a tighter per-minute window
 * for credential routes (those whose route config says `rateLimit: 'credentials'`). Every response carries
 * `X-RateLimit-Limit/-Remaining/-Reset` for the window closest to running out; over the limit the answer is
 * 429 RATE_LIMIT_ERROR with `Retry-After` (RFC 6585 §4).
 */
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { JanuaConfig } from '../../core/config/schema.js';
import { JanuaError } from '../../core/errors.js';
import { sendError } from '../errors.js';
import type { CounterStore } from '../rate-limit-store.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: 'credentials' | false;
  }
}

export function buildWhitelist(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits, ...rest] = entry.split('/');
    const family = isIP(addr ?? '');
    // A prefix must be explicit digits within the family's width: `10.0.0.0/` must not become /0 (everyone).
    const badPrefix =
      bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 6 ? 128 : 32));
    if (!addr || family === 0 || badPrefix || rest.length > 0)
      throw new JanuaError(
        'VALIDATION_ERROR',
        `RATE_LIMIT_WHITELIST: "${entry}" is not an IP address or CIDR range`,
      );
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

function isWhitelisted(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  if (list.check(ip, family === 6 ? 'ipv6' : 'ipv4')) return true;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) as seen on dual-stack sockets.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return !!mapped && list.check(mapped[1]!, 'ipv4');
}

/**
 * Whether a client address is on the whitelist, remembered per address: BlockList.check parses the address
 * on every call, and a client's answer never changes.
 */
export function whitelistCheck(entries: string[]): (ip: string) => boolean {
  const whitelist = buildWhitelist(entries);
  const seen = new Map<string, boolean>();
  return (ip) => {
    let hit = seen.get(ip);
    if (hit === undefined) {
      if (seen.size >= 10_000) seen.clear();
      hit = isWhitelisted(whitelist, ip);
      seen.set(ip, hit);
    }
    return hit;
  };
}

type RouteConfig = FastifyRequest['routeOptions']['config'];

interface Window {
  name: string;
  limit: number;
  ms: number;
}

export interface RateLimitOptions {
  config: Pick<
    JanuaConfig,
    | 'rateLimitEnabled'
    | 'rateLimitPerMinute'
    | 'rateLimitPerHour'
    | 'authRateLimitPerMinute'
    | 'rateLimitWhitelist'
  >;
  store: CounterStore;
}

export const rateLimit = fp(
  async (app: FastifyInstance, opts: RateLimitOptions) => {
    const { config, store } = opts;
    if (!config.rateLimitEnabled) return;
    const whitelisted = whitelistCheck(config.rateLimitWhitelist);
    const general: Window[] = [
      { name: 'm', limit: config.rateLimitPerMinute, ms: 60_000 },
      { name: 'h', limit: config.rateLimitPerHour, ms: 3_600_000 },
    ];
    const credentials: Window = { name: 'c', limit: config.authRateLimitPerMinute, ms: 60_000 };

    // Two parts: the synchronous hook lets unlimited routes and whitelisted clients through without a
    // promise per request; everyone else goes to the counter store.
    const limit = async (request: FastifyRequest, reply: FastifyReply, routeConfig: RouteConfig) => {
      const windows = routeConfig?.rateLimit === 'credentials' ? [...general, credentials] : general;
      const now = Date.now();
      const starts = windows.map((w) => Math.floor(now / w.ms) * w.ms);
      let counts: number[];
      try {
        counts = await store.hit(
          windows.map((w, i) => ({ key: `${w.name}:${request.ip}:${starts[i]}`, ttlMs: w.ms })),
        );
      } catch (err) {
        request.log.warn({ err }, 'rate-limit store unavailable; request allowed');
        return undefined;
      }
      // Report the window with the least room left (the tightest constraint on this client).
      let tightest = 0;
      let least = Number.POSITIVE_INFINITY;
      windows.forEach((w, i) => {
        const left = w.limit - counts[i]!;
        if (left < least) {
          least = left;
          tightest = i;
        }
      });
      const w = windows[tightest]!;
      const resetAt = starts[tightest]! + w.ms;
      reply.header('x-ratelimit-limit', String(w.limit));
      reply.header('x-ratelimit-remaining', String(Math.max(0, least)));
      reply.header('x-ratelimit-reset', String(Math.ceil(resetAt / 1000)));
      if (least < 0) {
        const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
        return sendError(
          reply,
          request,
          new JanuaError('RATE_LIMIT_ERROR', `Rate limit exceeded; retry in ${retryAfter} s`, { retryAfter }),
        );
      }
      return undefined;
    };
    app.addHook('onRequest', (request, reply, done) => {
      // The whitelist first: it is a map lookup, where request.routeOptions builds an object per call.
      if (whitelisted(request.ip)) return done();
      const routeConfig = request.routeOptions.config;
      if (routeConfig?.rateLimit === false) return done();
      limit(request, reply, routeConfig).then((sent) => {
        // A 429 already answered: the lifecycle stops here (what an async hook returning the reply does).
        if (sent === undefined) done();
      }, done);
    });
  },
  { name: 'janua-rate-limit' },
);
