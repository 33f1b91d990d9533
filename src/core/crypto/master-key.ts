import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JanuaConfig } from '../config/schema.js';
import { JanuaError } from '../errors.js';

export interface MasterKey {
  key: Buffer;
  source: 'env' | 'file' | 'generated' | 'missing';
  path?: string;
  /** Earlier master keys (JANUA_MASTER_KEY_PREVIOUS[_FILE]): still opened, never sealed with. */
  previous: Buffer[];
}

type MasterKeyConfig = Pick<
  JanuaConfig,
  'masterKey' | 'masterKeyFile' | 'masterKeyPrevious' | 'masterKeyPreviousFile' | 'dataDir'
>;

function keyPath(cfg: MasterKeyConfig): string {
  return cfg.masterKeyFile ?? join(cfg.dataDir, 'master.key');
}

function previousPath(cfg: MasterKeyConfig): string {
  return cfg.masterKeyPreviousFile ?? `${keyPath(cfg)}.previous`;
}

/** Earlier keys: the env list, then the file's (one per line, `#` comments allowed). */
function loadPrevious(cfg: MasterKeyConfig): Buffer[] {
  const out = (cfg.masterKeyPrevious ?? '')
    .split(',')
    .filter((k) => k.trim())
    .map((k, i) => decode(k, `JANUA_MASTER_KEY_PREVIOUS (entry ${i + 1})`));
  const path = previousPath(cfg);
  if (existsSync(path)) {
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() && !line.trim().startsWith('#')) out.push(decode(line, `${path} line ${i + 1}`));
    });
  } else if (cfg.masterKeyPreviousFile) {
    throw new JanuaError('VALIDATION_ERROR', `JANUA_MASTER_KEY_PREVIOUS_FILE ${path} does not exist`);
  }
  return out;
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
export function loadMasterKey(cfg: MasterKeyConfig, generate: boolean): MasterKey {
  const previous = loadPrevious(cfg);
  if (cfg.masterKey) return { key: decode(cfg.masterKey, 'JANUA_MASTER_KEY'), source: 'env', previous };
  const path = keyPath(cfg);
  if (existsSync(path))
    return { key: decode(readFileSync(path, 'utf8'), path), source: 'file', path, previous };
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
      return { key: decode(readFileSync(path, 'utf8'), path), source: 'file', path, previous };
    throw err;
  }
  chmodSync(path, 0o600);
  return { key, source: 'generated', path, previous };
}

/** Writes `text` to `path` atomically (a temporary file renamed over it), mode 0600. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * `janua keys rotate-master --generate`, for a key kept in a file: a new random key becomes the file's key
 * and the old one is appended to the previous-keys file, so everything sealed so far still opens. The
 * previous file is written first: a crash in between leaves the old key current (and listed twice, harmless).
 */
export function generateNextMasterKey(cfg: MasterKeyConfig, current: MasterKey): MasterKey {
  if (current.source === 'env' || !current.path) {
    throw new JanuaError(
      'VALIDATION_ERROR',
      'the master key comes from JANUA_MASTER_KEY: make a new one (openssl rand -base64 32), set it as JANUA_MASTER_KEY and the old one in JANUA_MASTER_KEY_PREVIOUS on every node, then run `janua keys rotate-master` without --generate',
    );
  }
  const prevPath = previousPath(cfg);
  const earlier = existsSync(prevPath) ? readFileSync(prevPath, 'utf8').replace(/\n*$/, '\n') : '';
  writeAtomically(
    prevPath,
    `${earlier === '\n' ? '' : earlier}# retired ${new Date().toISOString()}\n${current.key.toString('base64')}\n`,
  );
  const key = randomBytes(32);
  writeAtomically(current.path, `${key.toString('base64')}\n`);
  return { key, source: 'file', path: current.path, previous: [current.key, ...current.previous] };
}
