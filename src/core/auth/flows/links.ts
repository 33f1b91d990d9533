/**
 * Where a mailed link leads. By default to `JANUA_BASE_URL` (the API's own GET link for verification and
 * email change; the front end's page for reset and magic link); with a `redirect_url`, to that page, which must
 * be on `REDIRECT_ALLOWLIST` (an open redirect in a mail would carry the token to a stranger). The token rides
 * in a `token` query parameter.
 */
import type { JanuaConfig } from '../../config/schema.js';
import { badRequest } from '../../errors.js';

interface AllowEntry {
  origin: string;
  /** Path prefix ending in `/`, or '' for the whole origin. */
  path: string;
}

function parseEntry(entry: string): AllowEntry | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const path = url.pathname === '/' ? '' : url.pathname;
  return { origin: url.origin, path };
}

/**
 * Checks a redirect URL against the allow-list: same origin (scheme, host and port, compared after URL parsing
 * so `https://app.example.com@evil.example` is not mistaken for it), and under the entry's path: at a segment
 * boundary, so `/auth` does not admit `/authority`. URLs with credentials or a fragment are refused.
 */
export function checkRedirectUrl(config: Pick<JanuaConfig, 'redirectAllowlist'>, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequest('redirect_url is not a valid URL');
  }
  const refused = () => badRequest('redirect_url is not on the allow-list (REDIRECT_ALLOWLIST)');
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.hash)
    throw refused();
  for (const raw of config.redirectAllowlist) {
    const entry = parseEntry(raw);
    if (!entry || entry.origin !== url.origin) continue;
    if (entry.path === '' || url.pathname === entry.path) return url.href;
    const prefix = entry.path.endsWith('/') ? entry.path : `${entry.path}/`;
    if (url.pathname.startsWith(prefix)) return url.href;
  }
  throw refused();
}

/** `base` with `token` set as a query parameter (other parameters of an allow-listed page are kept). */
export function linkWithToken(base: string, token: string, extra: Record<string, string> = {}): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url.href;
}

/** A path under the public base URL (JANUA_BASE_URL may carry a path prefix of its own). */
export function underBase(config: Pick<JanuaConfig, 'baseUrl'>, path: string): string {
  return `${config.baseUrl.replace(/\/+$/, '')}${path}`;
}
