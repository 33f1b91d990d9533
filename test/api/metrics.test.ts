/**
 * GET /metrics over a real database (in-process, app.inject): the families the services and the daemon
 * count after real traffic, route labels that are patterns, the endpoint's own requests left out, the job
 * hooks, and the optional bearer token (compared in constant time, 401 in the documented format).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GOOD_PASSWORD, type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { sample } from '../helpers/metrics.js';

type Body = Record<string, unknown>;

function assertErrorBody(res: { statusCode: number; json(): unknown }, status: number, code: string) {
  assert.equal(res.statusCode, status);
  const body = res.json() as Body;
  assert.deepEqual(Object.keys(body).sort(), ['detail', 'error_code', 'status_code']);
  assert.equal(body['error_code'], code);
  assert.equal(body['status_code'], status);
}

for (const dialect of dialects()) {
  describe(`GET /metrics (${dialect})`, () => {
    let t: TestApp;
    const post = (url: string, payload: Body) => t.app.inject({ method: 'POST', url, payload });
    const scrape = async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200, res.body);
      return res;
    };

    before(async () => {
      t = await testApp(dialect);
    });
    after(() => t.close());

    test('counts sign-ins by outcome, tokens, refreshes, reuse and requests by route pattern', async () => {
      const email = `m-${randomUUID()}@example.com`;
      const up = await post('/api/v1/auth/signup', { email, password: GOOD_PASSWORD });
      assert.equal(up.statusCode, 201, up.body);
      const ok = await post('/api/v1/auth/signin', { email, password: GOOD_PASSWORD });
      assert.equal(ok.statusCode, 200, ok.body);
      const bad = await post('/api/v1/auth/signin', { email, password: `${GOOD_PASSWORD}-wrong` });
      assert.equal(bad.statusCode, 401, bad.body);
      const first = (ok.json() as Body)['refresh_token'] as string;
      const refreshed = await post('/api/v1/auth/token/refresh', { refresh_token: first });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      // The spent token again: reuse, the session is revoked.
      const reused = await post('/api/v1/auth/token/refresh', { refresh_token: first });
      assert.equal(reused.statusCode, 401, reused.body);
      const someone = randomUUID();
      assert.equal((await t.app.inject({ method: 'GET', url: `/api/v1/users/${someone}` })).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'GET', url: `/no/such/${someone}` })).statusCode, 404);

      const res = await scrape();
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      const text = res.body;
      assert.equal(sample(text, 'janua_signins_total{outcome="success"}'), 1);
      assert.equal(sample(text, 'janua_signins_total{outcome="invalid_credentials"}'), 1);
      // Sign-up, sign-in and one refresh each issued a pair; the reused token issued nothing.
      assert.equal(sample(text, 'janua_tokens_issued_total{type="access"}'), 3);
      assert.equal(sample(text, 'janua_tokens_issued_total{type="refresh"}'), 3);
      assert.equal(sample(text, 'janua_refresh_token_reuse_detected_total'), 1);
      // The sign-up's hash and the two sign-ins' checks each waited for a slot (for no time at all here).
      assert.equal(sample(text, 'janua_password_hash_wait_seconds_count'), 3);
      assert.equal(sample(text, 'janua_password_hash_shed_total'), 0);
      assert.equal(sample(text, 'janua_password_hash_queue{state="running"}'), 0);
      assert.equal(sample(text, 'janua_password_hash_queue{state="queued"}'), 0);
      const idle = sample(text, 'janua_db_pool_connections{state="idle"}');
      assert.ok(idle !== undefined && idle >= 1, 'the pool reports its idle connections');
      assert.equal(sample(text, 'janua_db_pool_waiting'), 0);

      const requests = (method: string, route: string, status: number) =>
        sample(
          text,
          `janua_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`,
        );
      assert.equal(requests('POST', '/api/v1/auth/signup', 201), 1);
      assert.equal(requests('POST', '/api/v1/auth/signin', 200), 1);
      assert.equal(requests('POST', '/api/v1/auth/signin', 401), 1);
      assert.equal(requests('POST', '/api/v1/auth/token/refresh', 200), 1);
      assert.equal(requests('POST', '/api/v1/auth/token/refresh', 401), 1);
      assert.equal(requests('GET', '/api/v1/users/:user_id', 401), 1, 'the route pattern, not the URL');
      assert.equal(requests('GET', 'unmatched', 404), 1);
      assert.ok(!text.includes(someone), 'no raw URL in any label');
      assert.ok(!/route="\/metrics"/.test(text), 'scrapes are not counted');
      assert.match(text, /janua_http_request_duration_seconds_bucket\{le="0\.005",method="POST"/);
    });

    test('job hooks: scheduled runs, processed jobs, and queue depths read at each scrape', async () => {
      const m = t.c.metrics;
      m.jobRunFinished('sessions.cleanup', 'success', 0.01);
      m.jobRunFinished('sessions.cleanup', 'failure', 0.02);
      m.jobsProcessed.inc({ kind: 'webhook.deliver', outcome: 'success' });
      let depth = 3;
      m.setJobDepthProvider(async () => [
        { kind: 'webhook.deliver', state: 'queued', count: depth },
        { kind: 'webhook.deliver', state: 'running', count: 1 },
      ]);
      try {
        let text = (await scrape()).body;
        assert.equal(sample(text, 'janua_job_runs_total{job="sessions.cleanup",outcome="success"}'), 1);
        assert.equal(sample(text, 'janua_job_runs_total{job="sessions.cleanup",outcome="failure"}'), 1);
        assert.equal(sample(text, 'janua_job_run_duration_seconds_count{job="sessions.cleanup"}'), 2);
        assert.equal(sample(text, 'janua_jobs_processed_total{kind="webhook.deliver",outcome="success"}'), 1);
        assert.equal(sample(text, 'janua_jobs{kind="webhook.deliver",state="queued"}'), 3);
        assert.equal(sample(text, 'janua_jobs{kind="webhook.deliver",state="running"}'), 1);
        depth = 0;
        text = (await scrape()).body;
        assert.equal(sample(text, 'janua_jobs{kind="webhook.deliver",state="queued"}'), 0, 'read again');
        // A provider that fails leaves the family out of that scrape; the scrape itself still answers.
        m.setJobDepthProvider(async () => {
          throw new Error('queue unreachable');
        });
        text = (await scrape()).body;
        assert.equal(sample(text, 'janua_jobs{kind="webhook.deliver",state="queued"}'), undefined);
        assert.ok(sample(text, 'janua_signins_total{outcome="success"}'));
      } finally {
        m.setJobDepthProvider(undefined);
      }
    });

    test('each container has its own registry', async () => {
      const other = await testApp(dialect);
      try {
        const text = (await other.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.equal(sample(text, 'janua_signins_total{outcome="success"}'), undefined);
        assert.notEqual(other.c.metrics.registry, t.c.metrics.registry);
      } finally {
        await other.close();
      }
    });
  });

  describe(`GET /metrics with METRICS_TOKEN, and METRICS_ENABLED=false (${dialect})`, () => {
    const TOKEN = 'scrape-secret-0123456789';
    let t: TestApp;
    before(async () => {
      t = await testApp(dialect, { METRICS_TOKEN: TOKEN });
    });
    after(() => t.close());
    const scrape = (authorization?: string) =>
      t.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });

    test('no token, a wrong one or another scheme: 401 in the documented format', async () => {
      const none = await scrape();
      assertErrorBody(none, 401, 'AUTHENTICATION_ERROR');
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      for (const header of [
        'Bearer wrong',
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${TOKEN}`,
        TOKEN,
        'Bearer',
      ]) {
        const res = await scrape(header);
        assertErrorBody(res, 401, 'AUTHENTICATION_ERROR');
        assert.ok(!res.body.includes('janua_'), header);
      }
    });

    test('the right token: 200 with the metrics', async () => {
      const res = await scrape(`Bearer ${TOKEN}`);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /^# HELP janua_/m);
      assert.equal((await scrape(`bearer ${TOKEN}`)).statusCode, 200, 'the scheme is case-insensitive');
    });

    test('METRICS_ENABLED=false: no endpoint, and requests are not counted', async () => {
      const off = await testApp(dialect, { METRICS_ENABLED: 'false' });
      try {
        assert.equal((await off.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
        assertErrorBody(await off.app.inject({ method: 'GET', url: '/metrics' }), 404, 'NOT_FOUND_ERROR');
        const text = await off.c.metrics.render();
        assert.ok(!text.includes('janua_http_request_duration_seconds_count{'), text);
      } finally {
        await off.close();
      }
    });
  });
}
