import bcrypt from 'bcrypt';
import type { JanuaConfig } from '../config/schema.js';
import { randomToken } from '../crypto/secrets.js';
import { JanuaError, validation } from '../errors.js';

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
  private readonly waiting: Array<() => void> = [];
  /** Moving average of one hash, in ms (seeded for cost 12 on a small machine; corrected after each hash). */
  private avgMs: number;
  private dummy: Promise<string> | undefined;

  constructor(
    private readonly rounds: number,
    private readonly concurrency: number,
    private readonly maxWaitMs: number,
  ) {
    this.avgMs = 250 * 2 ** (rounds - 12);
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      const expectedWait = ((this.waiting.length + 1) / this.concurrency) * this.avgMs;
      if (expectedWait > this.maxWaitMs) {
        throw new JanuaError('SERVICE_UNAVAILABLE', 'Too many sign-in requests at once; retry shortly', {
          retryAfter: Math.max(1, Math.ceil(expectedWait / 1000)),
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.avgMs = this.avgMs * 0.8 + (performance.now() - started) * 0.2;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  hash(password: string): Promise<string> {
    return this.slot(() => bcrypt.hash(password, this.rounds));
  }

  verify(password: string, hash: string): Promise<boolean> {
    if (!isBcryptHash(hash)) return this.slot(async () => false);
    return this.slot(() => bcrypt.compare(password, hash));
  }

  /** Spends the same time as a real check, for unknown users (no account enumeration by timing). */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= bcrypt.hash(randomToken(16), this.rounds);
    await this.verify(password, await this.dummy);
    return false;
  }

  /** Precomputes the dummy hash so the first unknown-user sign-in costs no more than a known one. */
  warmUp(): Promise<unknown> {
    this.dummy ??= bcrypt.hash(randomToken(16), this.rounds);
    return this.dummy;
  }
}
