/**
 * The HTTP request histogram (Metrics.httpRequestDuration): what `record` keeps comes out in the
 * Prometheus text format as prom-client writes a histogram — cumulative buckets with `le` (a value on a
 * bound counts in that bucket), `+Inf`, `_sum` and `_count` per series — with label values escaped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/core/metrics.js';
import { sample } from '../helpers/metrics.js';

const NAME = 'janua_http_request_duration_seconds';

describe('request histogram', () => {
  it('counts each answer in its series and bucket; cumulative buckets, +Inf, sum and count', async () => {
    const m = new Metrics();
    const h = m.httpRequestDuration;
    h.record('GET', '/api/v1/users/:user_id', 200, 0.0004);
    h.record('GET', '/api/v1/users/:user_id', 200, 0.001); // on a bound: counted in le="0.001"
    h.record('GET', '/api/v1/users/:user_id', 200, 0.02);
    h.record('GET', '/api/v1/users/:user_id', 404, 30); // above every bound: only +Inf
    const text = await m.render();
    const at = (le: string, status = 200) =>
      sample(
        text,
        `${NAME}_bucket{le="${le}",method="GET",route="/api/v1/users/:user_id",status="${status}"}`,
      );
    assert.equal(at('0.0005'), 1);
    assert.equal(at('0.001'), 2);
    assert.equal(at('0.0025'), 2);
    assert.equal(at('0.025'), 3);
    assert.equal(at('10'), 3);
    assert.equal(at('+Inf'), 3);
    assert.equal(at('10', 404), 0);
    assert.equal(at('+Inf', 404), 1);
    const labels = 'method="GET",route="/api/v1/users/:user_id",status="200"';
    assert.equal(sample(text, `${NAME}_count{${labels}}`), 3);
    assert.ok(Math.abs((sample(text, `${NAME}_sum{${labels}}`) ?? 0) - 0.0214) < 1e-9);
    assert.match(text, new RegExp(`# TYPE ${NAME} histogram`));
  });

  it('escapes label values as the text format requires, and a reset empties it', async () => {
    const m = new Metrics();
    m.httpRequestDuration.record('GET', 'a"b\\c\nd', 200, 0.1);
    const text = await m.render();
    assert.ok(text.includes(`${NAME}_count{method="GET",route="a\\"b\\\\c\\nd",status="200"} 1`), text);
    m.registry.resetMetrics();
    assert.ok(!(await m.render()).includes(`${NAME}_count{`));
  });
});
