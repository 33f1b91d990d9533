/**
 * PasswordHasher load shedding. Admission is decided synchronously when hash()/verify() is called, from the
 * estimate (queue length + 1) / concurrency × average hash time, so a burst fired in one tick is admitted or
 * shed deterministically — no timing in these assertions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasswordHasher } from '../../src/core/auth/passwords.js';
import { isJanuaError, type JanuaError } from '../../src/core/errors.js';
import { Metrics } from '../../src/core/metrics.js';

async function burst(hasher: PasswordHasher, n: number) {
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => hasher.hash(`Password-${i}!`)),
  );
  const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<string>[];
  const shed = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as JanuaError);
  return { ok, shed };
}

function assertShed(errors: JanuaError[]): void {
  for (const err of errors) {
    assert.ok(isJanuaError(err), String(err));
    assert.equal(err.code, 'SERVICE_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.ok(err.retryAfter !== undefined && err.retryAfter >= 1, `retryAfter ${err.retryAfter}`);
  }
}

describe('PasswordHasher load shedding', () => {
  it('concurrency 1 and no allowed wait: one hash runs, the rest are shed at once', async () => {
    const hasher = new PasswordHasher(4, 1, 0);
    const { ok, shed } = await burst(hasher, 10);
    assert.equal(ok.length, 1);
    assert.equal(shed.length, 9);
    assertShed(shed);
  });

  it('concurrency 2 and no allowed wait: two run, none queue', async () => {
    const hasher = new PasswordHasher(4, 2, 0);
    const { ok, shed } = await burst(hasher, 8);
    assert.equal(ok.length, 2);
    assert.equal(shed.length, 6);
    assertShed(shed);
  });

  it('queues only as many as the estimated wait allows', async () => {
    // Cost 10 is estimated at 62.5 ms a hash before any is measured; with 100 ms allowed, one may wait
    // (62.5 ms) and a second would wait 125 ms: so one runs, one queues, the rest are shed.
    const hasher = new PasswordHasher(10, 1, 100);
    const { ok, shed } = await burst(hasher, 10);
    assert.equal(ok.length, 2);
    assert.equal(shed.length, 8);
    assertShed(shed);
    assert.equal(shed[0]!.retryAfter, 1);
  });

  it('recovers after a burst: slots are released, hashes verify', async () => {
    const hasher = new PasswordHasher(4, 1, 0);
    await burst(hasher, 5);
    const hash = await hasher.hash('Correct-Horse-1');
    assert.equal(await hasher.verify('Correct-Horse-1', hash), true);
    assert.equal(await hasher.verify('Wrong-Horse-1', hash), false);
    assert.equal(await hasher.verify('x', 'not-a-bcrypt-hash'), false);
    assert.equal(await hasher.verifyDummy('anything'), false);
    // A failing burst left nothing behind: a new single call is admitted immediately.
    const { ok } = await burst(hasher, 1);
    assert.equal(ok.length, 1);
  });

  it('verify() is shed the same way as hash()', async () => {
    const hasher = new PasswordHasher(4, 1, 0);
    const hash = await hasher.hash('Correct-Horse-1');
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => hasher.verify('Correct-Horse-1', hash)),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled' && r.value === true).length, 1);
    assertShed(
      results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason),
    );
  });

  it('reports its queue and counts waits and shed requests in its metrics', async () => {
    const metrics = new Metrics();
    // As the queueing test above: one runs, one waits for it, eight are shed.
    const hasher = new PasswordHasher(10, 1, 100, metrics);
    const pending = Array.from({ length: 10 }, (_, i) => hasher.hash(`Password-${i}!`));
    assert.deepEqual(hasher.queue(), { running: 1, queued: 1 });
    const reservation = hasher.reserve.bind(hasher);
    assert.throws(reservation, (err: JanuaError) => err.code === 'SERVICE_UNAVAILABLE');
    const results = await Promise.allSettled(pending);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
    assert.deepEqual(hasher.queue(), { running: 0, queued: 0 });
    const wait = await metrics.passwordHashWait.get();
    const count = wait.values.find((v) => v.metricName === 'janua_password_hash_wait_seconds_count');
    assert.equal(count?.value, 2, 'both hashes that ran waited for a slot (one of them for the other)');
    const sum = wait.values.find((v) => v.metricName === 'janua_password_hash_wait_seconds_sum');
    assert.ok((sum?.value ?? 0) > 0, 'the second one waited for the first');
    assert.equal(
      (await metrics.passwordHashShed.get()).values[0]?.value,
      9,
      'eight in the burst, one reserve',
    );
  });

  it('a reserved place counts as queued until it is used or released', () => {
    const hasher = new PasswordHasher(4, 2, 0);
    const place = hasher.reserve();
    assert.deepEqual(hasher.queue(), { running: 0, queued: 1 });
    place.release();
    assert.deepEqual(hasher.queue(), { running: 0, queued: 0 });
  });
});
