/**
 * The rate-limit plugin through the real app (testApp + inject) with rate limiting on. Windows are fixed by
 * wall-clock time, so Date is frozen with node:test's mock timers at a known point of an hour: no test can
 * straddle a window boundary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { isJanuaError } from '../../src/core/errors.js';
import { buildApp } from '../../src/daemon/app.js';
import { buildWhitelist } from '../../src/daemon/plugins/rate-limit.js';
import { type TestApp, testApp, testContainer } from '../helpers/app.js';

const HOUR_START = Date.UTC(2031, 2, 3, 4, 0, 0);
const T0 = HOUR_START + 10_000; // 10 s into the first minute of the hour

describe('rate-limit plugin', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp('sqlite', {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_PER_MINUTE: '5',
      RATE_LIMIT_PER_HOUR: '8',
      AUTH_RATE_LIMIT_PER_MINUTE: '2',
      RATE_LIMIT_WHITELIST: '10.1.0.0/16, 192.0.2.5, 2001:db8::/32',
    });
    mock.timers.enable({ apis: ['Date'], now: T0 });
  });
  after(async () => {
    mock.timers.reset();
    await t.close();
  });

  const get = (ip: string, url = '/health') => t.app.inject({ method: 'GET', url, remoteAddress: ip });
  const signIn = (ip: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signin',
      remoteAddress: ip,
      payload: { email: 'nobody@example.com', password: 'Wrong-password-1' },
    });

  it('sends X-RateLimit headers that count down, then 429 with Retry-After and the error body', async () => {
    mock.timers.setTime(T0);
    const ip = '203.0.113.1';
    const reset = String(Math.ceil((HOUR_START + 60_000) / 1000));
    for (let i = 1; i <= 5; i++) {
      const res = await get(ip);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-ratelimit-limit'], '5');
      assert.equal(res.headers['x-ratelimit-remaining'], String(5 - i));
      assert.equal(res.headers['x-ratelimit-reset'], reset);
    }
    const res = await get(ip);
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '50');
    assert.equal(res.headers['x-ratelimit-remaining'], '0');
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.deepEqual(res.json(), {
      detail: 'Rate limit exceeded; retry in 50 s',
      error_code: 'RATE_LIMIT_ERROR',
      status_code: 429,
    });
    // Another client is not affected.
    assert.equal((await get('203.0.113.2')).statusCode, 200);
  });

  it('a new minute allows again, and the header reports the tighter hourly window', async () => {
    mock.timers.setTime(T0);
    const ip = '203.0.113.3';
    for (let i = 0; i < 6; i++) await get(ip); // 6 counted this minute and this hour; the 6th was refused
    mock.timers.setTime(HOUR_START + 60_000 + 1);
    const res = await get(ip);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-ratelimit-limit'], '8', 'hour: 7 of 8 used is tighter than minute: 1 of 5');
    assert.equal(res.headers['x-ratelimit-remaining'], '1');
    assert.equal(res.headers['x-ratelimit-reset'], String(Math.ceil((HOUR_START + 3_600_000) / 1000)));
    assert.equal((await get(ip)).statusCode, 200);
    const over = await get(ip);
    assert.equal(over.statusCode, 429);
    assert.equal(over.headers['retry-after'], String(Math.ceil((3_600_000 - 60_001) / 1000)));
  });

  it('credential routes have the tighter per-minute limit, counted on top of the general ones', async () => {
    mock.timers.setTime(T0);
    const ip = '198.51.100.7';
    const first = await signIn(ip);
    assert.equal(first.statusCode, 401);
    assert.equal(first.headers['x-ratelimit-limit'], '2');
    assert.equal(first.headers['x-ratelimit-remaining'], '1');
    assert.equal((await signIn(ip)).headers['x-ratelimit-remaining'], '0');
    const third = await signIn(ip);
    assert.equal(third.statusCode, 429);
    assert.equal(third.json().error_code, 'RATE_LIMIT_ERROR');
    assert.equal(third.headers['retry-after'], '50');
    // Ordinary routes still work for this client: 4th request of 5 this minute.
    const other = await get(ip);
    assert.equal(other.statusCode, 200);
    assert.equal(other.headers['x-ratelimit-limit'], '5');
    assert.equal(other.headers['x-ratelimit-remaining'], '1');
  });

  it('whitelisted addresses and CIDR ranges (IPv4, IPv4-mapped IPv6, IPv6) are never limited', async () => {
    mock.timers.setTime(T0);
    for (const ip of ['10.1.2.3', '10.1.255.254', '192.0.2.5', '::ffff:10.1.9.9', '2001:db8::1']) {
      for (let i = 0; i < 12; i++) {
        const res = await get(ip);
        assert.equal(res.statusCode, 200, `${ip} request ${i + 1}`);
        assert.equal(res.headers['x-ratelimit-limit'], undefined);
      }
      const cred = await signIn(ip);
      assert.equal(cred.statusCode, 401, `${ip} credentials`);
    }
    // Just outside the ranges: limited.
    for (const ip of ['10.2.0.1', '192.0.2.6', '2001:db9::1']) {
      for (let i = 0; i < 5; i++) await get(ip);
      assert.equal((await get(ip)).statusCode, 429, ip);
    }
  });
});

describe('rate-limit plugin disabled', () => {
  it('adds no headers and never refuses', async () => {
    const t = await testApp('sqlite', { RATE_LIMIT_PER_MINUTE: '1' });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({ method: 'GET', url: '/health' });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['x-ratelimit-limit'], undefined);
      }
    } finally {
      await t.close();
    }
  });

  it('an invalid whitelist entry is refused, naming the setting', async () => {
    const t = await testContainer('sqlite', { RATE_LIMIT_ENABLED: 'true' });
    try {
      for (const entry of [
        'not-an-ip',
        '10.0.0.0/',
        '10.0.0.0/x',
        '10.0.0.0/33',
        '2001:db8::/129',
        '10.0.0.0/8/8',
      ]) {
        const config = { ...t.c.config, rateLimitWhitelist: ['127.0.0.1', entry] };
        await assert.rejects(
          buildApp({ ...t.c, config }),
          (err: unknown) =>
            isJanuaError(err) &&
            err.code === 'VALIDATION_ERROR' &&
            err.message === `RATE_LIMIT_WHITELIST: "${entry}" is not an IP address or CIDR range`,
          entry,
        );
      }
    } finally {
      await t.close();
    }
  });

  it('buildWhitelist accepts addresses and ranges of both families', () => {
    const list = buildWhitelist(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1', '0.0.0.0/0']);
    assert.ok(list.check('10.200.0.1', 'ipv4'));
    assert.ok(list.check('8.8.8.8', 'ipv4'), 'an explicit /0 is allowed');
    assert.ok(list.check('2001:db8:1::1', 'ipv6'));
    assert.ok(!list.check('2001:db9::1', 'ipv6'));
  });
});
