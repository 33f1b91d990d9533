/**
 * Fault 1: PostgreSQL stops under load (a private cluster: `pg_ctl stop -m fast`, then `-m immediate`) and
 * comes back. While it is down, `/health/ready` answers 503 and says why, `/health/live` stays 200, and every
 * request that needs the database gets a clean 503 SERVICE_UNAVAILABLE with Retry-After (never a 500); once
 * it is back, the same daemon process serves again without a restart, nothing acknowledged is lost, and the
 * log holds one line when the database went away and one when it came back, per outage.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../../src/core/store/store.js';
import { dialects } from '../../helpers/db.js';
import type { Daemon } from '../../helpers/janua.js';
import { assertError, client, eventually, openStore, type Res } from '../support.js';
import { type PrivatePostgres, privatePostgres } from './pg-cluster.js';
import {
  type Answer,
  checkAcknowledged,
  checkNothingHalfDone,
  clusterEnv,
  type Load,
  ok,
  startLoad,
  startNodes,
  summary,
} from './support.js';

/** The daemon's structured log lines at warn or above. */
function warnings(d: Daemon): Array<{ level: number; msg: string; reason?: string }> {
  const out: Array<{ level: number; msg: string; reason?: string }> = [];
  for (const line of d.logs) {
    try {
      const rec = JSON.parse(line) as { level?: number; msg?: string; reason?: string };
      if ((rec.level ?? 0) >= 40) out.push({ level: rec.level!, msg: String(rec.msg), reason: rec.reason });
    } catch {
      /* not a log record */
    }
  }
  return out;
}

/** 503 SERVICE_UNAVAILABLE in the documented body, with a Retry-After of at least a second. */
function assertUnavailable(a: Answer): void {
  const res: Res = {
    status: a.status,
    headers: { 'content-type': a.contentType },
    text: a.text ?? '',
    body: a.body,
  };
  assertError(res, 503, 'SERVICE_UNAVAILABLE', `${a.op} on ${a.node}`);
  assert.ok(Number(a.retryAfter) >= 1, `Retry-After on ${a.op}: ${a.retryAfter}`);
  assert.doesNotMatch(a.text ?? '', /ECONNREFUSED|terminat|127\.0\.0\.1|postgres/i, 'no driver message');
}

describe('fault: Postgres stopped under load, then back', {
  skip: dialects().includes('postgres')
    ? false
    : 'Postgres suites not selected (set JANUA_TEST_DATABASE_URL)',
}, () => {
  let cluster: PrivatePostgres;
  let d: Daemon;
  let store: Store;
  let load: Load | undefined;

  before(async () => {
    cluster = await privatePostgres();
    const url = await cluster.createDatabase();
    // Key ring and maintenance state reloaded every second, so both pollers run into the outage.
    const nodes = await startNodes(1, url, {
      ...clusterEnv('postgres'),
      JANUA_KEYS_RELOAD_SECONDS: '1',
      JANUA_MAINTENANCE_REFRESH_SECONDS: '1',
    });
    d = nodes[0]!;
    store = openStore(url);
  });
  after(async () => {
    await load?.stop();
    await store?.destroy();
    await d?.stop();
    await cluster?.destroy();
  });

  test('503 with Retry-After while it is down, ready again by itself, nothing acknowledged lost', async () => {
    const call = client(d);
    const pid = d.child.pid;
    load = startLoad({ targets: () => [d.url], clients: 6 });
    await load.until('warm-up', 30_000, (as) => as.filter(ok).length >= 30);

    const windows: Array<{ stop: number; down: number; restart: number; up: number }> = [];
    for (const mode of ['fast', 'immediate'] as const) {
      const stop = performance.now();
      await cluster.stop(mode);
      const ready = await eventually(`/health/ready turns 503 after stop -m ${mode}`, 15_000, async () => {
        const r = await call('GET', '/health/ready');
        return r.status === 503 ? r : undefined;
      });
      const down = performance.now();
      assert.equal(ready.body.status, 'not_ready');
      assert.equal(ready.body.database, false);
      assert.match(
        ready.body.reason,
        /^database unreachable \((connection refused|connection lost|server shutting down|server not accepting connections)\)$/,
      );
      assert.equal(
        (await call('GET', '/health/live')).status,
        200,
        'liveness does not depend on the database',
      );

      await load.until(
        `requests answered during the ${mode} outage`,
        20_000,
        (as) => as.filter((a) => a.sent > down).length >= 12,
      );
      assert.equal((await call('GET', '/health/live')).status, 200);
      const restart = performance.now();
      await cluster.start();
      await eventually('/health/ready back to 200', 30_000, async () => {
        const r = await call('GET', '/health/ready');
        return r.status === 200 ? r : undefined;
      });
      const up = performance.now();
      await load.until(
        `successes after the ${mode} outage`,
        30_000,
        (as) => as.filter((a) => a.sent > up && ok(a)).length >= 20,
      );
      windows.push({ stop, down, restart, up });
    }
    await load.stop();
    const answers = load.answers;
    assert.equal(d.child.exitCode, null, 'the daemon never exited');
    assert.equal(d.child.pid, pid);

    // Every answer is a success or a clean 503; a sign-in for an account whose sign-up went unanswered may be 401.
    for (const a of answers) {
      if (ok(a)) continue;
      if (a.unsure && a.op === 'signin' && a.status === 401) continue;
      assert.notEqual(a.status, 0, `${a.op} got no answer at all (${a.error}); ${summary(answers)}`);
      assertUnavailable(a);
    }
    for (const [i, w] of windows.entries()) {
      const during = answers.filter((a) => a.sent > w.down && a.done < w.restart);
      assert.ok(during.length >= 12, `requests during the outage: ${summary(during)}`);
      for (const a of during) assert.equal(a.status, 503, `${a.op} during the outage: ${a.status}`);
      const end = windows[i + 1]?.stop ?? Number.POSITIVE_INFINITY;
      const after = answers.filter((a) => a.sent > w.up && a.done < end);
      assert.ok(after.every(ok), `after recovery every request succeeds: ${summary(after)}`);
    }

    await checkAcknowledged(store, answers);
    await checkNothingHalfDone(store);

    // One warning when the database went away and one when it came back, per outage; no error lines.
    const lines = warnings(d);
    assert.deepEqual(
      lines.map((l) => l.msg),
      [
        'database unreachable: requests that need it answer 503 until it is back',
        'database reachable again',
        'database unreachable: requests that need it answer 503 until it is back',
        'database reachable again',
      ],
      JSON.stringify(lines),
    );
  });
});
