/**
 * Rate-limit counter stores, one contract for both: memory (one node) and Redis (several nodes). The Redis
 * case runs against a real Redis (JANUA_TEST_REDIS_URL, default redis://127.0.0.1:6379) and is skipped,
 * saying so, only when none answers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  type CounterStore,
  MemoryCounterStore,
  RedisCounterStore,
} from '../../src/daemon/rate-limit-store.js';

const REDIS_URL = process.env['JANUA_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

async function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const redisUp = await reachable(REDIS_URL);
const MINUTE = 60_000;

function contract(name: string, make: () => CounterStore, skip: string | false = false): void {
  describe(`${name} counter store`, { skip }, () => {
    const stores: CounterStore[] = [];
    const store = () => {
      const s = make();
      stores.push(s);
      return s;
    };
    after(async () => {
      for (const s of stores) await s.close();
    });
    const key = () => `test:${randomUUID()}`;

    it('answers ping as soon as it is created', async () => {
      assert.equal(await store().ping(), true);
    });

    it('counts each key, returning the new counts in order', async () => {
      const s = store();
      const [a, b] = [key(), key()];
      assert.deepEqual(await s.hit([{ key: a, ttlMs: MINUTE }]), [1]);
      assert.deepEqual(await s.hit([{ key: a, ttlMs: MINUTE }]), [2]);
      assert.deepEqual(
        await s.hit([
          { key: a, ttlMs: MINUTE },
          { key: b, ttlMs: MINUTE },
        ]),
        [3, 1],
      );
      assert.deepEqual(await s.hit([]), []);
    });

    it('counts concurrent hits exactly once each', async () => {
      const s = store();
      const k = key();
      const counts = (
        await Promise.all(Array.from({ length: 50 }, () => s.hit([{ key: k, ttlMs: MINUTE }])))
      ).map((r) => r[0]!);
      assert.deepEqual(
        counts.sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    it('a counter expires after its TTL and starts again at 1; others are untouched', async () => {
      const s = store();
      const [short, long] = [key(), key()];
      await s.hit([
        { key: short, ttlMs: 50 },
        { key: long, ttlMs: MINUTE },
      ]);
      assert.deepEqual(await s.hit([{ key: short, ttlMs: 50 }]), [2]);
      await sleep(200); // well past the 50 ms TTL: only a lower bound on elapsed time matters here
      assert.deepEqual(
        await s.hit([
          { key: short, ttlMs: 50 },
          { key: long, ttlMs: MINUTE },
        ]),
        [1, 2],
      );
    });
  });
}

contract('memory', () => new MemoryCounterStore());
contract(
  'Redis',
  () => new RedisCounterStore(REDIS_URL),
  redisUp ? false : `Redis is not reachable at ${REDIS_URL}; set JANUA_TEST_REDIS_URL or start Redis`,
);

describe('RedisCounterStore specifics', {
  skip: redisUp ? false : `Redis is not reachable at ${REDIS_URL}`,
}, () => {
  it('sets the TTL on the first hit only (fixed window) under the janua:rl: prefix', async () => {
    const store = new RedisCounterStore(REDIS_URL);
    const raw = new Redis(REDIS_URL);
    const k = `test:${randomUUID()}`;
    try {
      await store.hit([{ key: k, ttlMs: MINUTE }]);
      const first = await raw.pttl(`janua:rl:${k}`);
      assert.ok(first > 0 && first <= MINUTE, `pttl ${first}`);
      await store.hit([{ key: k, ttlMs: 10 * MINUTE }]);
      const second = await raw.pttl(`janua:rl:${k}`);
      assert.ok(second > 0 && second <= first, 'a later hit does not extend the window');
      assert.equal(await raw.get(`janua:rl:${k}`), '2');
    } finally {
      await raw.del(`janua:rl:${k}`);
      raw.disconnect();
      await store.close();
    }
  });

  it('fails fast (for the limiter to fail open) and pings false when Redis is unreachable', async () => {
    const store = new RedisCounterStore('redis://127.0.0.1:1');
    try {
      await assert.rejects(store.hit([{ key: 'x', ttlMs: MINUTE }]));
      assert.equal(await store.ping(), false);
    } finally {
      await store.close();
    }
  });
});
