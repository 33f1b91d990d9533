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
 *
 * Names are written in lower case here and wherever the daemon sets a header: Fastify stores every name
 * lower-cased (and that is how they go on the wire; names are case-insensitive, RFC 9110 §5.1), and a name
 * that is already lower case skips a toLowerCase and a string-table lookup per header per response.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  // Only honoured over HTTPS, i.e. behind the TLS-terminating proxy Janua runs behind in production.
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  // Clickjacking: nothing here is meant to be framed (CSP for current browsers, X-Frame-Options for old).
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  // Not in the cheat sheet's list for every API answer: in its list for answers that may be rendered as
  // HTML, which it recommends as defence in depth when that is uncertain (the /docs page is HTML).
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
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
  reply.header('pragma', 'no-cache');
  done();
}
