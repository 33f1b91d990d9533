import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import type { JanuaConfig } from '../config/schema.js';
import { tokenError } from '../errors.js';
import type { KeyRing } from '../keys/keyring.js';
import { SIGNING_ALG } from '../keys/keys.js';
import type { Metrics } from '../metrics.js';
import { perOwner } from '../per-owner.js';
import { SignerPool } from './signer-pool.js';

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  type: 'access';
  email: string;
  org?: string;
}

export interface TokenDeps {
  keys: KeyRing;
  clock: Clock;
  config: Pick<JanuaConfig, 'baseUrl' | 'jwtAudience' | 'accessTokenMinutes' | 'clockSkewSeconds'>;
}

/**
 * Signs an access token: RS256 JWT with kid, iss, aud, sub, sid, jti, iat, exp, type=access, email. The JWS
 * Compact Serialization (RFC 7515 §7.1) is built here and only the signature is made in the signer pool;
 * every token is checked with jose's `jwtVerify` like any client would (tests/e2e).
 */
export async function signAccessToken(
  deps: TokenDeps & { metrics: Pick<Metrics, 'tokensIssued'> },
  subject: { userId: string; sessionId: string; email: string; org?: string },
): Promise<string> {
  const { kid, key } = deps.keys.signer();
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  const claims: Record<string, unknown> = {
    iss: deps.config.baseUrl,
    aud: deps.config.jwtAudience,
    sub: subject.userId,
    sid: subject.sessionId,
    jti: randomUUID(),
    iat: now,
    exp: now + deps.config.accessTokenMinutes * 60,
    type: 'access',
    email: subject.email,
  };
  if (subject.org) claims['org'] = subject.org;
  const input = `${b64json({ alg: SIGNING_ALG, kid, typ: 'JWT' })}.${b64json(claims)}`;
  const token = `${input}.${await signers.sign(kid, key, input)}`;
  deps.metrics.tokensIssued.inc({ type: 'access' });
  return token;
}

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

const signers = new SignerPool();

/**
 * Verifies signature, algorithm, issuer, audience and lifetime. Only RS256 is accepted (RFC 8725 §3.1:
 * never let the token pick the algorithm), so `alg: none` and HS256-keyed-with-the-public-key forgeries fail
 * before any key is used. Unknown `kid`s trigger one throttled key reload, then fail.
 */
export async function verifyAccessToken(deps: TokenDeps, token: string): Promise<AccessClaims> {
  const cache = verifiedCache(deps.keys);
  const hit = cache.get(token);
  if (hit) {
    // Same text, same key still published: the signature and the static claims hold as before; only the
    // clock can have changed. (The caller still checks the session on every request.)
    if ((await deps.keys.verifier(hit.kid)) === hit.key) {
      const now = Math.floor(deps.clock.now().getTime() / 1000);
      if (hit.claims.exp > now - deps.config.clockSkewSeconds) return hit.claims;
      cache.delete(token);
      throw tokenError('Token has expired');
    }
    cache.delete(token);
  }
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== SIGNING_ALG) throw tokenError('Token algorithm not accepted');
    kid = header.kid;
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError)
      throw tokenError('Malformed token');
    throw err;
  }
  if (!kid) throw tokenError('Token has no key id');
  const key = await deps.keys.verifier(kid);
  if (!key) throw tokenError('Token signed with an unknown key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      issuer: deps.config.baseUrl,
      audience: deps.config.jwtAudience,
      requiredClaims: ['sub', 'sid', 'jti', 'exp', 'iat'],
      currentDate: deps.clock.now(),
      // Nodes' clocks differ (JWT_CLOCK_SKEW_SECONDS): a token minted by a node that runs behind is accepted
      // here until its own clock says it expired (RFC 7519 §4.1.4 allows "some small leeway"). `iat` is not
      // checked against the clock (no maxTokenAge), so a token from a node that runs ahead is accepted at once.
      clockTolerance: deps.config.clockSkewSeconds,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw tokenError('Token has expired');
    if (err instanceof joseErrors.JOSEError) throw tokenError('Invalid token');
    throw err;
  }
  if (payload['type'] !== 'access' || typeof payload['sid'] !== 'string' || typeof payload.sub !== 'string') {
    throw tokenError('Not an access token');
  }
  const claims = Object.freeze(payload) as AccessClaims;
  if (cache.size >= VERIFIED_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(token, { claims, kid, key });
  return claims;
}

const VERIFIED_CACHE_SIZE = 10_000;

type VerifyKey = NonNullable<Awaited<ReturnType<KeyRing['verifier']>>>;
interface Verified {
  claims: AccessClaims;
  kid: string;
  key: VerifyKey;
}

/**
 * Access tokens whose signature and claims verified, by their exact text, per key ring. A client sends the
 * same token for hours; checking its RS256 signature again each time gives nothing new (the same bytes
 * verify under the same key) and cost a thread-pool round trip per request. A hit still needs its key to
 * be published now (a removed key invalidates it) and a current `exp`.
 */
const verifiedCache = perOwner((_keys: KeyRing) => new Map<string, Verified>());
