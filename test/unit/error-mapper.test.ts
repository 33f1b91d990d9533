/** The daemon's one error mapper (src/daemon/errors.ts), directly and through a Fastify app that uses it. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { ERROR_CODES, ERROR_STATUS, JanuaError } from '../../src/core/errors.js';
import { errorBody, registerErrorHandling, toJanuaError } from '../../src/daemon/errors.js';
import { testApp } from '../helpers/app.js';

describe('toJanuaError / errorBody', () => {
  it('passes JanuaErrors through unchanged, for every code', () => {
    for (const code of ERROR_CODES) {
      const err = new JanuaError(code, `detail of ${code}`);
      assert.equal(toJanuaError(err), err);
      const body = errorBody(err, 'rid-1');
      assert.equal(body.error_code, code);
      assert.equal(body.status_code, ERROR_STATUS[code]);
      assert.equal(
        body.detail,
        code === 'INTERNAL_ERROR' ? 'Internal server error (request id rid-1)' : `detail of ${code}`,
      );
    }
  });

  it('maps SyntaxError to 400 and anything unknown to a generic 500', () => {
    const syntax = toJanuaError(new SyntaxError('Unexpected token } in JSON at position 7'));
    assert.deepEqual(
      [syntax.code, syntax.status, syntax.message],
      ['BAD_REQUEST', 400, 'Request body is not valid JSON'],
    );
    for (const thrown of [
      new Error('connection to db://admin:hunter2@x failed'),
      'a string',
      undefined,
      null,
      42,
      {},
    ]) {
      const e = toJanuaError(thrown);
      assert.equal(e.code, 'INTERNAL_ERROR');
      assert.equal(e.status, 500);
      assert.equal(e.expose, false);
      assert.equal(errorBody(e, 'rid-2').detail, 'Internal server error (request id rid-2)');
    }
    const withStatus = toJanuaError(Object.assign(new Error('Gone fishing'), { statusCode: 404 }));
    assert.deepEqual(
      [withStatus.code, withStatus.status, withStatus.message],
      ['NOT_FOUND_ERROR', 404, 'Gone fishing'],
    );
    const teapot = toJanuaError(Object.assign(new Error('I am a teapot'), { statusCode: 418 }));
    assert.deepEqual([teapot.code, teapot.status], ['BAD_REQUEST', 400]);
    const upstream = toJanuaError(Object.assign(new Error('upstream secret'), { statusCode: 502 }));
    assert.deepEqual([upstream.code, upstream.status], ['INTERNAL_ERROR', 500]);
  });
});

describe('error mapper in a Fastify app', () => {
  let app: FastifyInstance;
  const logs: string[] = [];
  before(async () => {
    const stream = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    app = Fastify({ logger: { level: 'warn', stream }, bodyLimit: 1024 });
    registerErrorHandling(app);
    app.addHook('onRequest', async (request, reply) => {
      reply.header('X-Request-Id', request.id);
    });
    app.get('/conflict', async () => {
      throw new JanuaError('CONFLICT_ERROR', 'That username is taken');
    });
    app.get('/busy', async () => {
      throw new JanuaError('SERVICE_UNAVAILABLE', 'Too busy', { retryAfter: 3 });
    });
    app.get('/token', async () => {
      throw new JanuaError('TOKEN_ERROR', 'Token has expired');
    });
    app.get('/unauthenticated', async () => {
      throw new JanuaError('AUTHENTICATION_ERROR', 'Authentication required');
    });
    app.get('/internal-janua', async () => {
      throw new JanuaError('INTERNAL_ERROR', 'signing key abc cannot be decrypted');
    });
    app.get('/boom', async () => {
      throw new Error('password=hunter2 leaked in a driver message');
    });
    app.get('/syntax', async () => {
      JSON.parse('{"half":');
    });
    app.post(
      '/validated',
      {
        schema: {
          body: {
            type: 'object',
            required: ['email'],
            properties: {
              email: { type: 'string' },
              profile: { type: 'object', properties: { age: { type: 'integer' } } },
            },
          },
        },
      },
      async () => ({ ok: true }),
    );
    await app.ready();
  });
  after(() => app.close());

  it('a JanuaError keeps its code, status and detail; Retry-After and WWW-Authenticate follow the code', async () => {
    const res = await app.inject({ method: 'GET', url: '/conflict' });
    assert.equal(res.statusCode, 409);
    assert.deepEqual(res.json(), {
      detail: 'That username is taken',
      error_code: 'CONFLICT_ERROR',
      status_code: 409,
    });
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const busy = await app.inject({ method: 'GET', url: '/busy' });
    assert.equal(busy.statusCode, 503);
    assert.equal(busy.headers['retry-after'], '3');
    const token = await app.inject({ method: 'GET', url: '/token' });
    assert.equal(token.headers['www-authenticate'], 'Bearer error="invalid_token"');
    const unauth = await app.inject({ method: 'GET', url: '/unauthenticated' });
    assert.equal(unauth.statusCode, 401);
    assert.equal(unauth.headers['www-authenticate'], 'Bearer');
  });

  it('schema validation failures are 422 VALIDATION_ERROR naming the field', async () => {
    const missing = await app.inject({ method: 'POST', url: '/validated', payload: { other: 1 } });
    assert.equal(missing.statusCode, 422);
    assert.equal(missing.json().error_code, 'VALIDATION_ERROR');
    assert.match(missing.json().detail, /email/);
    const nested = await app.inject({
      method: 'POST',
      url: '/validated',
      payload: { email: 'a', profile: { age: 'x' } },
    });
    assert.equal(nested.statusCode, 422);
    assert.match(nested.json().detail, /profile\.age/);
  });

  it('malformed JSON and a thrown SyntaxError are 400 BAD_REQUEST', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/validated',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), {
      detail: 'Request body is not valid JSON',
      error_code: 'BAD_REQUEST',
      status_code: 400,
    });
    const thrown = await app.inject({ method: 'GET', url: '/syntax' });
    assert.equal(thrown.statusCode, 400);
    assert.equal(thrown.json().error_code, 'BAD_REQUEST');
  });

  it('an unknown error is a generic 500 naming the request id, with no stack or message; the log has the stack', async () => {
    logs.length = 0;
    const res = await app.inject({ method: 'GET', url: '/boom' });
    assert.equal(res.statusCode, 500);
    const rid = String(res.headers['x-request-id']);
    assert.ok(rid);
    assert.deepEqual(res.json(), {
      detail: `Internal server error (request id ${rid})`,
      error_code: 'INTERNAL_ERROR',
      status_code: 500,
    });
    assert.ok(!res.body.includes('hunter2'));
    assert.ok(!/at .*\.js:\d+/.test(res.body), 'no stack frames in the body');
    const logged = logs.join('');
    assert.match(logged, /hunter2 leaked/);
    assert.match(logged, /"stack":"Error: password=hunter2/);
    const internal = await app.inject({ method: 'GET', url: '/internal-janua' });
    assert.equal(internal.statusCode, 500);
    assert.ok(!internal.body.includes('signing key'), 'an INTERNAL_ERROR detail is never exposed');
  });

  it('too large, unsupported media type and unknown routes use the same body', async () => {
    const big = await app.inject({ method: 'POST', url: '/validated', payload: { email: 'x'.repeat(2000) } });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error_code, 'PAYLOAD_TOO_LARGE');
    const media = await app.inject({
      method: 'POST',
      url: '/validated',
      headers: { 'content-type': 'application/x-unknown' },
      payload: 'x',
    });
    assert.equal(media.statusCode, 415);
    assert.equal(media.json().error_code, 'UNSUPPORTED_MEDIA_TYPE');
    const missing = await app.inject({ method: 'GET', url: '/nope?secret=1' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), {
      detail: 'No route for GET /nope',
      error_code: 'NOT_FOUND_ERROR',
      status_code: 404,
    });
  });
});

describe('error mapper in the real app', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    t = await testApp('sqlite');
  });
  after(() => t.close());

  it('wrong body types are 422 (not coerced) and malformed JSON is 400, with the request id echoed', async () => {
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signin',
      headers: { 'x-request-id': 'client-req-42' },
      payload: { email: 12345, password: 'x' },
    });
    assert.equal(wrong.statusCode, 422);
    assert.equal(wrong.json().error_code, 'VALIDATION_ERROR');
    assert.equal(wrong.headers['x-request-id'], 'client-req-42');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signin',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error_code, 'BAD_REQUEST');
  });
});
