/**
 * Backup codes: 10 one-time recovery codes shown once as `XXXX-XXXX` (API.md contract notes). Eight characters
 * of a 32-letter alphabet without look-alikes (no I, L, O, U) carry 40 bits — too few for a bare fast hash, so
 * only an HMAC under the `mfa-backup-codes` pepper is stored (crypto/peppers.ts). A code is spent by a
 * conditional UPDATE (single use); a new set replaces the whole old one.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { backupCodes } from '../store/repos/mfa.js';
import type { Executor } from '../store/store.js';

export const BACKUP_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const PEPPER = 'mfa-backup-codes';

/** A random code, `XXXX-XXXX`. */
function newCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

/**
 * The canonical form of what a user typed: upper case, without the hyphen or spaces, with the look-alikes a
 * person may type for 0 and 1 mapped to them (Crockford's Base32 decoding). Undefined when it cannot be a code.
 */
export function normalizeBackupCode(raw: string): string | undefined {
  const s = raw.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (s.length !== 8) return undefined;
  for (const ch of s) if (!ALPHABET.includes(ch)) return undefined;
  return s;
}

export interface BackupCodeSet {
  /** The codes to show, once. */
  codes: string[];
  rows: { id: string; hash: string }[];
}

/**
 * A new set with its hashes, made before the transaction that stores it (`storeBackupCodes`): the pepper may
 * have to be read or created on the store's own connection, which must not wait on an open transaction.
 */
export async function newBackupCodes(deps: Pick<Deps, 'peppers'>): Promise<BackupCodeSet> {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODE_COUNT) codes.add(newCode());
  const list = [...codes];
  const rows = await Promise.all(
    list.map(async (c) => ({ id: randomUUID(), hash: await hashBackupCode(deps, normalizeBackupCode(c)!) })),
  );
  return { codes: list, rows };
}

/** Stores the set in the caller's transaction, replacing the user's old one. */
export function storeBackupCodes(ex: Executor, userId: string, set: BackupCodeSet, now: Date): Promise<void> {
  return backupCodes.replace(ex, userId, set.rows, now);
}

/** The stored form of a normalized code. */
export function hashBackupCode(deps: Pick<Deps, 'peppers'>, normalized: string): Promise<string> {
  return deps.peppers.hash(PEPPER, normalized);
}
