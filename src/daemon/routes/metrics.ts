/**
 * `GET /metrics`: every metric family in the Prometheus text format (prom-client's exposition), registered
 * only with METRICS_ENABLED. With METRICS_TOKEN set the scraper must send `Authorization: Bearer <token>`
 * (Prometheus' `authorization` / `bearer_token_file` scrape settings); anything else is a 401 in the
 * management API's error format. Without a token the endpoint is open, for a daemon on an internal network.
 *
 * The endpoint stays under the per-IP rate limit like any route: a scrape every 15 s is 4 requests a minute,
 * far below the default 60, so a scraper never meets the limit (and its address can be whitelisted), while
 * the limit still bounds how often anyone else can make the daemon render every series, and how many guesses
 * at the token one address gets.
 */
import type { FastifyInstance } from 'fastify';
import { hashToken, safeEqual } from '../../core/crypto/secrets.js';
import type { Deps } from '../../core/deps.js';
import { JanuaError } from '../../core/errors.js';
import { METRICS_PATH } from '../observe.js';

/** Whether `header` is `Bearer <token>`; compared as fixed-length digests, so in constant time. */
export function metricsTokenMatches(header: string | undefined, token: string): boolean {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  // A digest of something for a missing token too: the time spent does not say which check failed.
  return safeEqual(hashToken(m?.[1] ?? ''), hashToken(token)) && m !== null;
}

export async function metricsRoutes(
  app: FastifyInstance,
  opts: { deps: Pick<Deps, 'config' | 'metrics'> },
): Promise<void> {
  const { config, metrics } = opts.deps;
  app.get(METRICS_PATH, { schema: { hide: true } }, async (request, reply) => {
    if (config.metricsToken && !metricsTokenMatches(request.headers.authorization, config.metricsToken))
      throw new JanuaError('AUTHENTICATION_ERROR', 'A valid metrics token is required');
    const body = await metrics.render();
    return reply.type(metrics.contentType).send(body);
  });
}
