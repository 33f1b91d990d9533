import { createHmac, randomBytes } from 'node:crypto';
import { settings } from '../store/repos/settings.js';
import type { Executor } from '../store/store.js';
import type { SecretBox } from './secrets.js';

/**
 * Peppers: named random keys for keyed hashes of low-entropy secrets (MFA backup codes hold ~40 bits, too few
 * for a bare fast hash — a stolen table would fall to a GPU in minutes). A pepper is random, generated once per
 * installation, stored in `settings` under `pepper:<name>` sealed with the master key (purpose `pepper`).
 * It is not derived from the master key, so `janua keys rotate-master` re-seals it and every hash made with
 * it stays valid.
 */
export const PEPPER_PREFIX = 'pepper:';
export const PEPPER_PURPOSE = 'pepper';

interface StoredPepper {
  box: string;
}

export class Peppers {
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly ex: Executor,
    private readonly box: SecretBox,
    private readonly now: () => Date,
  ) {}

  /** The pepper called `name`, generated on first use (by whichever node is first; the others read that one). */
  async get(name: string): Promise<Buffer> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const key = PEPPER_PREFIX + name;
    let row = await settings.get<StoredPepper>(this.ex, key);
    if (!row) {
      const box = this.box.seal(PEPPER_PURPOSE, randomBytes(32).toString('base64'));
      await settings.insertIfAbsent(this.ex, key, { box } satisfies StoredPepper, this.now());
      row = await settings.get<StoredPepper>(this.ex, key);
      if (!row) throw new Error(`pepper ${name} could not be stored`);
    }
    const pepper = Buffer.from(this.box.open(PEPPER_PURPOSE, row.value.box), 'base64');
    this.cache.set(name, pepper);
    return pepper;
  }

  /** HMAC-SHA256 of `value` under the pepper `name`, base64url: what to store and compare. */
  async hash(name: string, value: string): Promise<string> {
    return createHmac('sha256', await this.get(name))
      .update(value, 'utf8')
      .digest('base64url');
  }
}
