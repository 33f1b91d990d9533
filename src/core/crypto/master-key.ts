import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JanuaConfig } from '../config/schema.js';
import { JanuaError } from '../errors.js';

export interface MasterKey {
  key: Buffer;
  source: 'env' | 'file' | 'generated' | 'missing';
  path?: string;
}

function decode(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length < 32) {
    throw new JanuaError(
      'VALIDATION_ERROR',
      `${where} must hold at least 32 random bytes (base64 or hex); generate one with: openssl rand -base64 32`,
    );
  }
  return key;
}

/**
 * Finds the master key: JANUA_MASTER_KEY, else JANUA_MASTER_KEY_FILE, else DATA_DIR/master.key — generated
 * there (mode 0600) on first use when `generate` is allowed. The caller warns loudly about a generated key.
 */
export function loadMasterKey(
  cfg: Pick<JanuaConfig, 'masterKey' | 'masterKeyFile' | 'dataDir'>,
  generate: boolean,
): MasterKey {
  if (cfg.masterKey) return { key: decode(cfg.masterKey, 'JANUA_MASTER_KEY'), source: 'env' };
  const path = cfg.masterKeyFile ?? join(cfg.dataDir, 'master.key');
  if (existsSync(path)) return { key: decode(readFileSync(path, 'utf8'), path), source: 'file', path };
  if (cfg.masterKeyFile)
    throw new JanuaError('VALIDATION_ERROR', `JANUA_MASTER_KEY_FILE ${path} does not exist`);
  if (!generate) {
    throw new JanuaError(
      'VALIDATION_ERROR',
      `no master key: set JANUA_MASTER_KEY or JANUA_MASTER_KEY_FILE (looked for ${path})`,
    );
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process generated it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { key: decode(readFileSync(path, 'utf8'), path), source: 'file', path };
    throw err;
  }
  chmodSync(path, 0o600);
  return { key, source: 'generated', path };
}
