/**
 * What the daemon records about every request it answers, in one place for the router (an onResponse
 * hook) and the JWKS fast lane (which answers before the router):
 * - one access line at info: `{request_id, method, route, status, duration_ms, ip, msg: "request"}`, where
 *   `route` is the route's pattern (`/api/v1/users/:id`), or null with the request's `path` when no route
 *   matched; `ip` is the client address (from `X-Forwarded-For` only with TRUST_PROXY). No query string and
 *   no header is written, so no token reaches the log;
 * - the `janua_http_request_duration_seconds` histogram by method, route pattern and status (a request no
 *   route matched counts under the route `unmatched`: the number of series stays bounded whatever URLs
 *   clients send), except for `GET /metrics` itself.
 */

import type { Deps } from '../core/deps.js';
import { accessLineWriter } from '../core/logger.js';

export const METRICS_PATH = '/metrics';

/** The route label of requests no route matched. */
const UNMATCHED = 'unmatched';

/** Longest path written for an unmatched request (they are the client's, not ours). */
const MAX_PATH = 200;

export interface Answered {
  method: string;
  /** The matched route's pattern, or undefined when none matched. */
  route: string | undefined;
  /** The request URL (only its path is written, and only when no route matched). */
  url: string;
  status: number;
  durationMs: number;
  requestId: string;
  ip: string | undefined;
}

export type RequestObserver = (answered: Answered) => void;

/**
 * undefined when there is nothing to record: no access log (`log` false, or a level above info) and
 * no metrics.
 */
export function requestObserver(
  deps: Pick<Deps, 'logger' | 'metrics'> & { config: Pick<Deps['config'], 'metricsEnabled'> },
  options: { log: boolean },
): RequestObserver | undefined {
  const write = options.log ? accessLineWriter(deps.logger) : undefined;
  const histogram = deps.config.metricsEnabled ? deps.metrics.httpRequestDuration : undefined;
  if (!write && !histogram) return undefined;
  return (a) => {
    if (histogram && a.route !== METRICS_PATH) {
      histogram.record(a.method, a.route ?? UNMATCHED, a.status, a.durationMs / 1000);
    }
    write?.({
      requestId: a.requestId,
      method: a.method,
      route: a.route ?? null,
      path: a.route === undefined ? pathOf(a.url) : undefined,
      status: a.status,
      durationMs: a.durationMs,
      ip: a.ip,
    });
  };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}
