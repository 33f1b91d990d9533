import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../core/deps.js';

/** JWKS (RFC 7517 §5): next + active + retired public keys, so verifiers never meet an unknown kid. */
export async function wellKnownRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  app.get(
    '/.well-known/jwks.json',
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
      // Verifiers may cache for 5 minutes: a new key is published as `next` long before it signs.
      // The body is the key ring's JSON, serialized and encoded once per key-set load (public members
      // only, as the schema above lists): a Buffer goes to the socket as it is, where a string would be
      // concatenated to the header block and UTF-8 encoded again on every answer.
      reply
        .header('cache-control', 'public, max-age=300, stale-while-revalidate=60')
        .header('content-type', 'application/json; charset=utf-8')
        .send(opts.deps.keys.jwksJson());
      return reply;
    },
  );
}
