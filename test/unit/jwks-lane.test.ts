/**
 * The JWKS fast lane in front of the real app on a real socket: which requests it takes (and what it
 * answers) and which it leaves to the router. Whether the lane answered is read from a counter wrapped
 * around `take`; what it answered is compared with the router's answer to the same request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { installJwksLane, type JwksLane, jwksLane } from '../../src/daemon/jwks-lane.js';
import { type TestApp, testApp } from '../helpers/app.js';

interface Setup {
  t: TestApp;
  url: string;
  taken: () => number;
  lane: JwksLane;
}

/** The app of `env` on a socket, the lane in front; requests are not logged unless `env` says so. */
async function laneApp(env: Record<string, string>): Promise<Setup> {
  const t = await testApp('sqlite', { LOG_LEVEL: 'warn', ...env });
  const lane = jwksLane(t.c);
  let n = 0;
  const counted: JwksLane = {
    take: (req, res) => {
      const took = lane.take(req, res);
      if (took) n++;
      return took;
    },
    close: () => lane.close(),
  };
  assert.ok(installJwksLane(t.app, counted));
  const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, url, taken: () => n, lane };
}

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(url, { method, headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** Headers that differ between any two answers (the clock, the request id, the connection's). */
const PER_ANSWER = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);
const stable = (h: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !PER_ANSWER.has(k)));

describe('JWKS fast lane', () => {
  describe('whitelisted client, limits on', () => {
    let s: Setup;
    before(async () => {
      s = await laneApp({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_WHITELIST: '127.0.0.1' });
    });
    after(() => s.t.close());

    it('answers a plain GET with the bytes the router sends for it', async () => {
      const before = s.taken();
      const lane = await get(`${s.url}/.well-known/jwks.json`, { 'x-request-id': 'trace-42' });
      assert.equal(s.taken(), before + 1, 'the lane answered');
      // A query string sends the same request to the router.
      const routed = await get(`${s.url}/.well-known/jwks.json?via=router`, { 'x-request-id': 'trace-43' });
      assert.equal(s.taken(), before + 1, 'the router answered');
      assert.equal(lane.status, 200);
      assert.deepEqual(stable(lane.headers), stable(routed.headers));
      assert.deepEqual(Object.keys(lane.headers), Object.keys(routed.headers), 'same headers, same order');
      assert.equal(lane.body, routed.body);
      assert.equal(lane.headers['x-request-id'], 'trace-42', 'a sane caller request id is kept');
      assert.equal(routed.headers['x-request-id'], 'trace-43');
      assert.equal(lane.body, s.t.c.keys.jwksJson().toString());
      const bad = await get(`${s.url}/.well-known/jwks.json`, { 'x-request-id': 'not a token\u00e9' });
      assert.match(String(bad.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'an unusable one is replaced');
    });

    it('leaves HEAD and other paths to the router', async () => {
      const before = s.taken();
      assert.equal((await get(`${s.url}/.well-known/jwks.json`, {}, 'HEAD')).status, 200);
      assert.equal((await get(`${s.url}/.well-known/jwks.json/`)).status, 200);
      assert.equal((await get(`${s.url}/.well-known/other.json`)).status, 404);
      assert.equal(s.taken(), before);
    });

    it('takes nothing once closed (the daemon stopping)', async () => {
      s.lane.close();
      const before = s.taken();
      assert.equal((await get(`${s.url}/.well-known/jwks.json`)).status, 200);
      assert.equal(s.taken(), before);
    });
  });

  it('leaves clients the limiter counts to the router, which reports their limits', async () => {
    const s = await laneApp({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '100' });
    try {
      const r = await get(`${s.url}/.well-known/jwks.json`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-ratelimit-limit'], '100');
      assert.equal(s.taken(), 0);
    } finally {
      await s.t.close();
    }
  });

  it('takes every client when limits are off; none with CORS, debug logs or a trusted proxy', async () => {
    const cases: Array<[Record<string, string>, number]> = [
      [{ RATE_LIMIT_ENABLED: 'false', CORS_ORIGINS: 'https://app.example' }, 0],
      [{ RATE_LIMIT_ENABLED: 'false' }, 1],
      [{ RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'silent' }, 1],
      [{ RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'info' }, 1],
      [{ RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'debug' }, 0],
      [{ RATE_LIMIT_ENABLED: 'false', TRUST_PROXY: 'true' }, 0],
    ];
    for (const [env, expected] of cases) {
      const s = await laneApp(env);
      try {
        assert.equal((await get(`${s.url}/.well-known/jwks.json`)).status, 200);
        assert.equal(s.taken(), expected, JSON.stringify(env));
      } finally {
        await s.t.close();
      }
    }
  });
});
