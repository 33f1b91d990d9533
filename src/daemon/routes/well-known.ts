import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../core/deps.js';
import { JWKS_MAX_AGE_S, JWKS_STALE_S } from '../../core/keys/keys.js';

export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * The JWKS answer's own headers (over the security headers every answer has). Verifiers may cache for 5
 * minutes: a new key is published as `next` long before it signs.
 */
export const JWKS_HEADERS = Object.freeze({
  'cache-control': `public, max-age=${JWKS_MAX_AGE_S}, stale-while-revalidate=${JWKS_STALE_S}`,
  'content-type': 'application/json; charset=utf-8',
});

/**
 * JWKS (RFC 7517 §5): next + active + retired public keys, so verifiers never meet an unknown kid. Most
 * requests for it never get here: the fast lane (../jwks-lane.ts) answers them before routing.
 */
export async function wellKnownRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  app.get(
    JWKS_PATH,
    {
      schema: {
        tags: ['keys'],
        summary: 'Public signing keys (JWK Set)',
        response: {
          200: {
            type: 'object',
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    kty: { type: 'string' },
                    kid: { type: 'string' },
                    use: { type: 'string' },
                    alg: { type: 'string' },
                    n: { type: 'string' },
                    e: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      },
    },
    (_request, reply) => {
      // The body is the key ring's JSON, serialized and encoded once per key-set load (public members
      // only, as the schema above lists): a Buffer goes to the socket as it is, where a string would be
      // concatenated to the header block and UTF-8 encoded again on every answer.
      reply.headers(JWKS_HEADERS).send(opts.deps.keys.jwksJson());
      return reply;
    },
  );
}
