import bcrypt from 'bcrypt';
import type { JanuaConfig } from '../config/schema.js';
import { randomToken } from '../crypto/secrets.js';
import { JanuaError, validation } from '../errors.js';
import type { HashQueueStats, Metrics } from '../metrics.js';
import { breaksTextRule, textRuleError } from '../text.js';

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72;

export type PasswordPolicy = Pick<
  JanuaConfig,
  | 'passwordMinLength'
  | 'passwordRequireUppercase'
  | 'passwordRequireLowercase'
  | 'passwordRequireDigit'
  | 'passwordRequireSymbol'
>;

/** Checks a new password against the configured policy; throws VALIDATION_ERROR naming every rule missed. */
export function checkPasswordPolicy(policy: PasswordPolicy, password: string): void {
  const missing: string[] = [];
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw validation(`Password must be at most ${MAX_PASSWORD_BYTES} bytes`, { password: 'too long' });
  }
  // The API refuses control characters in every single-line field, sign-in's password too: a password set
  // here with one (a CLI, an import) could never be typed into sign-in.
  if (breaksTextRule(password, 'single-line')) throw textRuleError('password', 'single-line');
  if ([...password].length < policy.passwordMinLength)
    missing.push(`at least ${policy.passwordMinLength} characters`);
  if (policy.passwordRequireUppercase && !/\p{Lu}/u.test(password)) missing.push('an uppercase letter');
  if (policy.passwordRequireLowercase && !/\p{Ll}/u.test(password)) missing.push('a lowercase letter');
  if (policy.passwordRequireDigit && !/\p{Nd}/u.test(password)) missing.push('a digit');
  if (policy.passwordRequireSymbol && !/[^\p{L}\p{Nd}]/u.test(password)) missing.push('a symbol');
  if (missing.length)
    throw validation(`Password must contain ${missing.join(', ')}`, {
      password: 'does not meet the password policy',
    });
}

/** The cost of a bcrypt hash (`$2b$10$…` → 10), or undefined for anything else. */
export function bcryptCost(hash: string): number | undefined {
  return isBcryptHash(hash) ? Number(hash.slice(4, 6)) : undefined;
}

export function isBcryptHash(hash: string): boolean {
  return /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash);
}

/**
 * Password hashing off the event loop (bcrypt's async API runs in libuv's thread pool) with at most
 * `concurrency` hashes at once. When the estimated wait for a slot exceeds `maxWaitMs` the request is shed
 * with 503 + Retry-After: under a sign-in flood the server answers the excess at once instead of letting
 * every request queue for seconds.
 */
export class PasswordHasher {
  private running = 0;
  /** Places promised by reserve() and not yet used: they count as queued when deciding to shed. */
  private reserved = 0;
  private readonly waiting: Array<() => void> = [];
  /** Moving average of one hash, in ms (seeded for cost 12 on a small machine; corrected after each hash). */
  private avgMs: number;
  private dummy: Promise<string> | undefined;

  constructor(
    private readonly rounds: number,
    private readonly concurrency: number,
    private readonly maxWaitMs: number,
    private readonly metrics?: Pick<Metrics, 'passwordHashWait' | 'passwordHashShed'>,
  ) {
    this.avgMs = 250 * 2 ** (rounds - 12);
  }

  /** Hashes running now, and those waiting for a slot or holding a reserved place (metrics). */
  queue(): HashQueueStats {
    return { running: this.running, queued: this.waiting.length + this.reserved };
  }

  /** Throws 503 + Retry-After when one more hash would wait longer than `maxWaitMs` for a slot. */
  private admit(): void {
    const ahead = this.running + this.waiting.length + this.reserved;
    if (ahead < this.concurrency) return;
    const expectedWait = ((ahead - this.concurrency + 1) / this.concurrency) * this.avgMs;
    if (expectedWait > this.maxWaitMs) {
      this.metrics?.passwordHashShed.inc();
      throw new JanuaError('SERVICE_UNAVAILABLE', 'Too many sign-in requests at once; retry shortly', {
        retryAfter: Math.max(1, Math.ceil(expectedWait / 1000)),
      });
    }
  }

  private async slot<T>(fn: () => Promise<T>, admitted = false): Promise<T> {
    if (!admitted) this.admit();
    const queued = performance.now();
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    const started = performance.now();
    this.metrics?.passwordHashWait.observe((started - queued) / 1000);
    try {
      return await fn();
    } finally {
      this.avgMs = this.avgMs * 0.8 + (performance.now() - started) * 0.2;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /**
   * Takes a place in the queue now, or sheds at once (503). Sign-in reserves before it does any work, so a
   * shed request costs no database round trip and is not counted as a failed attempt (under a flood,
   * shedding must not lock accounts out). The place is given back by verify, verifyDummy or release.
   */
  reserve(): HashReservation {
    this.admit();
    this.reserved++;
    let held = true;
    const take = () => {
      if (!held) throw new Error('hash reservation already used');
      held = false;
      this.reserved--;
    };
    return {
      verify: (password, hash) => {
        take();
        return this.doVerify(password, hash, true);
      },
      verifyDummy: (password) => {
        take();
        return this.doVerifyDummy(password, true);
      },
      hash: (password) => {
        take();
        return this.slot(() => bcrypt.hash(password, this.rounds), true);
      },
      release: () => {
        if (held) take();
      },
    };
  }

  hash(password: string): Promise<string> {
    return this.slot(() => bcrypt.hash(password, this.rounds));
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.doVerify(password, hash, false);
  }

  /** Spends the same time as a real check, for unknown users (no account enumeration by timing). */
  verifyDummy(password: string): Promise<false> {
    return this.doVerifyDummy(password, false);
  }

  private doVerify(password: string, hash: string, admitted: boolean): Promise<boolean> {
    if (!isBcryptHash(hash)) return this.slot(async () => false, admitted);
    return this.slot(() => bcrypt.compare(password, hash), admitted);
  }

  private async doVerifyDummy(password: string, admitted: boolean): Promise<false> {
    this.dummy ??= bcrypt.hash(randomToken(16), this.rounds);
    const dummy = await this.dummy;
    await this.doVerify(password, dummy, admitted);
    return false;
  }

  /** Precomputes the dummy hash so the first unknown-user sign-in costs no more than a known one. */
  warmUp(): Promise<unknown> {
    this.dummy ??= bcrypt.hash(randomToken(16), this.rounds);
    return this.dummy;
  }
}

/** A place in the hash queue, from PasswordHasher.reserve(); used once, or released. */
export interface HashReservation {
  verify(password: string, hash: string): Promise<boolean>;
  verifyDummy(password: string): Promise<false>;
  /** Hashes at our cost in the reserved place (lazy migration stores a password checked elsewhere). */
  hash(password: string): Promise<string>;
  /** Gives the place back if it was not used (safe to call always, e.g. in a finally). */
  release(): void;
}
