/**
 * Counter stores for the rate limiter (the two-implementation shape of @fastify/rate-limit's stores): memory
 * for one node, Redis when several nodes share the load. Fixed windows: the key names the window, so a
 * counter expires on its own.
 */
import { Redis } from 'ioredis';

export interface Hit {
  key: string;
  ttlMs: number;
}

export interface CounterStore {
  /** Increments every key by one and returns the new counts, in order. */
  hit(hits: Hit[]): Promise<number[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  readonly kind: 'memory' | 'redis';
}

export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  private readonly counts = new Map<string, { n: number; expires: number }>();
  private sweeps = 0;

  async hit(hits: Hit[]): Promise<number[]> {
    const now = Date.now();
    if (++this.sweeps % 10_000 === 0) this.sweep(now);
    return hits.map(({ key, ttlMs }) => {
      const cur = this.counts.get(key);
      if (!cur || cur.expires <= now) {
        this.counts.set(key, { n: 1, expires: now + ttlMs });
        return 1;
      }
      cur.n++;
      return cur.n;
    });
  }

  private sweep(now: number): void {
    for (const [k, v] of this.counts) if (v.expires <= now) this.counts.delete(k);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.counts.clear();
  }
}

const INCR_ALL = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[i] = n
end
return out`;

export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  /** Settles when the first connection attempt ends, whether it succeeded or not. */
  private readonly firstConnect: Promise<void>;

  constructor(
    url: string,
    private readonly prefix = 'janua:',
  ) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
    });
    this.redis.on('error', () => {
      /* reported by ping(); the limiter fails open while Redis is away */
    });
    // Without the offline queue, a command sent before the connection is up fails at once; so the first
    // requests after start would go uncounted and /health/detailed would report Redis down. Commands wait
    // for the first attempt only (bounded by connectTimeout); later outages still fail fast.
    this.firstConnect = new Promise<void>((resolve) => {
      const done = () => {
        for (const ev of ['ready', 'error', 'end']) this.redis.off(ev, done);
        resolve();
      };
      for (const ev of ['ready', 'error', 'end']) this.redis.once(ev, done);
    });
  }

  async hit(hits: Hit[]): Promise<number[]> {
    await this.firstConnect;
    const res = (await this.redis.eval(
      INCR_ALL,
      hits.length,
      ...hits.map((h) => `${this.prefix}rl:${h.key}`),
      ...hits.map((h) => String(h.ttlMs)),
    )) as number[];
    return res.map(Number);
  }

  async ping(): Promise<boolean> {
    try {
      await this.firstConnect;
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
