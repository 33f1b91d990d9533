/**
 * The security headers every response carries: the set the OWASP REST Security Cheat Sheet names for JSON
 * APIs ("Security Headers"), fixed strings set once per response. Browser-document headers a JSON API has
 * no use for (X-Download-Options, X-DNS-Prefetch-Control, Origin-Agent-Cluster, X-XSS-Protection, COOP …)
 * are left out: each was bytes and work on every response, the JWKS answer's largest cost after the socket
 * write.
 *
 * `Cache-Control: no-store` is the default because most answers carry tokens, user data or both: RFC 6749
 * §5.1 requires it on every response containing tokens or credentials, and no shared cache should keep
 * the rest either. Responses meant to be cached (JWKS, discovery) set their own.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // Only honoured over HTTPS, i.e. behind the TLS-terminating proxy Janua runs behind in production.
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  // Clickjacking: nothing here is meant to be framed (CSP for current browsers, X-Frame-Options for old).
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
});

/**
 * RFC 6749 §5.1: a response carrying tokens also sends `Pragma: no-cache` (for HTTP/1.0 caches) beside
 * `Cache-Control: no-store`. An onRequest hook for the routes that issue tokens.
 */
export function pragmaNoCache(
  _request: unknown,
  reply: { header(k: string, v: string): unknown },
  done: () => void,
) {
  reply.header('Pragma', 'no-cache');
  done();
}
