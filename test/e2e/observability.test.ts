/**
 * The spawned daemon's log and metrics as an operator meets them: stdout piped (JSON lines, exactly one
 * access line per request with its method, route pattern, status, duration, request id and client
 * address; nothing secret), `--log-format pretty` (readable lines, not JSON), and `GET /metrics` with a
 * token (process metrics, requests answered by the JWKS lane counted like any other).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { type Daemon, startDaemon } from '../helpers/janua.js';
import { sample } from '../helpers/metrics.js';
import { AUTH, client, PASSWORD, uniqueEmail } from './support.js';

const TOKEN = 'e2e-metrics-token-0123456789';
const ACCESS_FIELDS = [
  'duration_ms',
  'hostname',
  'ip',
  'level',
  'method',
  'msg',
  'pid',
  'request_id',
  'route',
  'status',
  'time',
];

for (const dialect of dialects()) {
  describe(`e2e logs and metrics (${dialect})`, () => {
    let db: TestDatabase;
    let d: Daemon;
    before(async () => {
      db = await createTestDatabase(dialect);
      d = await startDaemon({ databaseUrl: db.url, env: { METRICS_TOKEN: TOKEN } });
    });
    after(async () => {
      await d?.stop();
      await db?.drop();
    });

    test('JSON lines on a pipe, one access line per request, metrics behind the token', async () => {
      const call = client(d);
      const id = (name: string) => ({ 'x-request-id': `obs-${dialect}-${name}` });
      const email = uniqueEmail('obs');
      const made: Array<[string, number]> = [];
      const expect = async (name: string, status: number, p: ReturnType<typeof call>) => {
        const res = await p;
        assert.equal(res.status, status, `${name}: ${res.text}`);
        made.push([name, status]);
        return res;
      };
      await expect('health', 200, call('GET', '/health', { headers: id('health') }));
      await expect(
        'nothing',
        404,
        call('GET', '/nothing/here?secret=s3cr3t-query', { headers: id('nothing') }),
      );
      const up = await expect(
        'signup',
        201,
        call('POST', `${AUTH}/signup`, { body: { email, password: PASSWORD }, headers: id('signup') }),
      );
      await expect(
        'signin',
        401,
        call('POST', `${AUTH}/signin`, {
          body: { email, password: `${PASSWORD}-no` },
          headers: id('signin'),
        }),
      );
      await expect('me', 200, call('GET', `${AUTH}/me`, { token: up.body.access_token, headers: id('me') }));
      await expect(
        'user',
        200,
        call('GET', `/api/v1/users/${up.body.user.id}`, {
          token: up.body.access_token,
          headers: id('user'),
        }),
      );
      // Limits are off in this daemon: the JWKS fast lane answers, and must log and count like the router.
      await expect('jwks', 200, call('GET', '/.well-known/jwks.json', { headers: id('jwks') }));
      await expect('metrics-none', 401, call('GET', '/metrics', { headers: id('metrics-none') }));
      const metrics = await expect(
        'metrics',
        200,
        call('GET', '/metrics', { headers: { ...id('metrics'), authorization: `Bearer ${TOKEN}` } }),
      );
      const text = metrics.text;
      assert.ok((sample(text, 'janua_process_cpu_seconds_total') ?? 0) > 0, 'process metrics');
      assert.ok(sample(text, 'janua_process_resident_memory_bytes'), 'process memory');
      assert.equal(
        sample(
          text,
          'janua_http_request_duration_seconds_count{method="GET",route="/.well-known/jwks.json",status="200"}',
        ),
        1,
        'the lane counts its answers',
      );
      assert.equal(
        sample(
          text,
          'janua_http_request_duration_seconds_count{method="GET",route="/api/v1/users/:user_id",status="200"}',
        ),
        1,
      );
      assert.equal(sample(text, 'janua_signins_total{outcome="invalid_credentials"}'), 1);

      assert.equal(await d.stop(), 0);
      const records = d.stdout.map((line) => {
        let rec: Record<string, unknown> | undefined;
        assert.doesNotThrow(() => {
          rec = JSON.parse(line) as Record<string, unknown>;
        }, `not a JSON line: ${line}`);
        return rec!;
      });

      assert.equal(records.at(-1)?.['msg'], 'stopped', 'the last line of a clean stop is written');
      const access = records.filter((r) => r['msg'] === 'request');
      assert.equal(access.length, made.length, 'one access line per request, and nothing else logs one');
      for (const [name, status] of made) {
        const mine = access.filter((r) => r['request_id'] === `obs-${dialect}-${name}`);
        assert.equal(mine.length, 1, `exactly one access line for ${name}`);
        const line = mine[0]!;
        const fields = name === 'nothing' ? [...ACCESS_FIELDS, 'path'].sort() : ACCESS_FIELDS;
        assert.deepEqual(Object.keys(line).sort(), fields, name);
        assert.equal(line['status'], status, name);
        assert.equal(line['level'], 30);
        assert.equal(line['ip'], '127.0.0.1');
        assert.equal(typeof line['duration_ms'], 'number');
        assert.ok((line['duration_ms'] as number) >= 0);
      }
      const route = (name: string) =>
        access.find((r) => r['request_id'] === `obs-${dialect}-${name}`)?.['route'];
      assert.equal(route('user'), '/api/v1/users/:user_id', 'the pattern, not the URL');
      assert.equal(route('jwks'), '/.well-known/jwks.json');
      assert.equal(route('nothing'), null);
      assert.equal(
        access.find((r) => r['request_id'] === `obs-${dialect}-nothing`)?.['path'],
        '/nothing/here',
        'an unmatched request names its path, without the query',
      );
      const all = d.stdout.join('\n');
      for (const secret of [PASSWORD, up.body.access_token, up.body.refresh_token, TOKEN, 's3cr3t-query'])
        assert.ok(!all.includes(secret), 'no secret in the log');
      assert.ok(!/incoming request|request completed/.test(all), "Fastify's own request lines are gone");
    });
  });

  describe(`e2e --log-format pretty (${dialect})`, () => {
    test('readable lines, not JSON, one per event', async () => {
      const db = await createTestDatabase(dialect);
      const d = await startDaemon({ databaseUrl: db.url, args: ['--log-format', 'pretty'] });
      try {
        const call = client(d);
        const res = await call('GET', '/health', { headers: { 'x-request-id': 'obs-pretty' } });
        assert.equal(res.status, 200);
        assert.equal(await d.stop(), 0);
        assert.ok(d.stdout.length > 0);
        for (const line of d.stdout) {
          assert.throws(() => JSON.parse(line), `not JSON: ${line}`);
        }
        const mine = d.stdout.filter((l) => l.includes('obs-pretty'));
        assert.equal(mine.length, 1, d.stdout.join('\n'));
        assert.match(
          mine[0]!,
          /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/health 200 [\d.]+ ms 127\.0\.0\.1 \[obs-pretty\]$/,
        );
        assert.ok(d.stdout.some((l) => /INFO: janua listening on http:\/\/127\.0\.0\.1:\d+/.test(l)));
        assert.match(d.stdout.at(-1)!, /INFO: stopped$/);
      } finally {
        await d.stop();
        await db.drop();
      }
    });
  });
}
