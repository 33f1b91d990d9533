/** Coalescer (group commit / batched lookups) and the list-query templates behind it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../../src/core/store/coalesce.js';
import { padded } from '../../src/core/store/compiled.js';

/** A batch runner that records its batches and answers each item doubled, after `release()`. */
function recorder() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => gates.push(r));
    return items.map((i) => i * 2);
  };
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { batches, run, release };
}

describe('Coalescer', () => {
  it('runs a lone item at once; items arriving meanwhile go out together in the next batch', async () => {
    const r = recorder();
    const c = new Coalescer(r.run, 64, 1);
    const first = c.submit(1);
    const rest = [c.submit(2), c.submit(3), c.submit(4)];
    assert.deepEqual(r.batches, [[1]]);
    await r.release();
    assert.equal(await first, 2);
    await r.release();
    assert.deepEqual(await Promise.all(rest), [4, 6, 8]);
    assert.deepEqual(r.batches, [[1], [2, 3, 4]]);
  });

  it('caps a batch at maxBatch and keeps arrival order', async () => {
    const r = recorder();
    const c = new Coalescer(r.run, 2, 1);
    const all = [1, 2, 3, 4, 5].map((i) => c.submit(i));
    for (let i = 0; i < 3; i++) await r.release();
    assert.deepEqual(await Promise.all(all), [2, 4, 6, 8, 10]);
    assert.deepEqual(r.batches, [[1], [2, 3], [4, 5]]);
  });

  it('runs up to `slots` batches at once', async () => {
    const r = recorder();
    const c = new Coalescer(r.run, 64, 2);
    const all = [1, 2, 3].map((i) => c.submit(i));
    assert.deepEqual(r.batches, [[1], [2]]);
    for (let i = 0; i < 3; i++) await r.release();
    assert.deepEqual(await Promise.all(all), [2, 4, 6]);
  });

  it('a failing batch rejects each of its items and leaves the next batch unaffected', async () => {
    let calls = 0;
    const c = new Coalescer<number, number>(async (items) => {
      calls++;
      await new Promise((r) => setImmediate(r));
      if (items.includes(13)) throw new Error('boom');
      return items;
    });
    const first = c.submit(1);
    const bad = [c.submit(13), c.submit(2)];
    assert.equal(await first, 1);
    for (const b of bad) await assert.rejects(b, /boom/);
    assert.equal(await c.submit(3), 3);
    assert.equal(calls, 3);
  });
});

describe('padded', () => {
  it('pads to the next power of two with the last value, and leaves powers of two alone', () => {
    assert.deepEqual(padded([]), []);
    assert.deepEqual(padded(['a']), ['a']);
    assert.deepEqual(padded(['a', 'b', 'c']), ['a', 'b', 'c', 'c']);
    assert.equal(padded(Array.from({ length: 33 }, (_, i) => i)).length, 64);
    assert.equal(padded(Array.from({ length: 64 }, (_, i) => i)).length, 64);
  });
});
