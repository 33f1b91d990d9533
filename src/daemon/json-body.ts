/**
 * JSON bodies. API.md, "Client compatibility": the original SDK sends `Content-Type: application/json` with an
 * empty body on the actions that take none (`POST /users/{id}/reactivate`, …). An empty body — Content-Length 0,
 * or chunked with nothing in it — is no body: bodyless actions succeed, and a route that needs a body answers
 * its normal 422 naming the fields it needs, as it does when there is no body at all (never Fastify's 400
 * "Body cannot be empty"). Anything else is Fastify's own parser, with its prototype-poisoning guards.
 */
import type { FastifyInstance } from 'fastify';

/** Replaces the JSON parser on `app`; call before registering routes (parsers are copied into plugins). */
export function acceptEmptyJsonBody(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else parse(request, body as string, done);
  });
}
