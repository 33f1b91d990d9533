import type { Logger } from 'pino';
import { PasswordHasher } from './auth/passwords.js';
import { type Clock, systemClock } from './clock.js';
import type { JanuaConfig } from './config/schema.js';
import { loadMasterKey, type MasterKey } from './crypto/master-key.js';
import { Peppers } from './crypto/peppers.js';
import { SecretBox } from './crypto/secrets.js';
import type { Deps } from './deps.js';
import { KeyRing } from './keys/keyring.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { createStore } from './store/store.js';

export interface Container extends Deps {
  close(): Promise<void>;
}

export interface ContainerOptions {
  /**
   * `generate`: create a missing master key in the data directory (serve). `require`: fail without one
   * (key commands: a fresh key would seal new signing keys under the wrong master key). `lazy`: load it if
   * present, else fail only when a secret is actually sealed or opened (user and db commands).
   */
  masterKey?: 'generate' | 'require' | 'lazy';
  logger?: Logger;
  /** The registry the logger already counts into (serve makes it first for the log's drop counter). */
  metrics?: Metrics;
  clock?: Clock;
}

/** Builds config-derived services once; `serve`, `cron`, every admin command and importers start here. */
export function createContainer(config: JanuaConfig, options: ContainerOptions = {}): Container {
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat, fd: 1 });
  const metrics = options.metrics ?? new Metrics();
  const mode = options.masterKey ?? 'require';
  let masterKey: MasterKey;
  try {
    masterKey = loadMasterKey(config, mode === 'generate');
  } catch (err) {
    if (mode !== 'lazy') throw err;
    masterKey = { key: Buffer.alloc(0), source: 'missing', previous: [] };
  }
  const box =
    masterKey.source === 'missing'
      ? SecretBox.unavailable()
      : new SecretBox(masterKey.key, masterKey.previous);
  const store = createStore(config.databaseUrl);
  const keys = new KeyRing(store, box);
  const clock = options.clock ?? systemClock;
  const peppers = new Peppers(store.db, box, () => clock.now());
  const hasher = new PasswordHasher(
    config.bcryptRounds,
    config.passwordHashConcurrency,
    config.passwordHashMaxWaitMs,
    metrics,
  );
  metrics.watchPasswordHasher(() => hasher.queue());
  metrics.watchDbPool(() => store.poolStats());
  return {
    config,
    store,
    clock,
    box,
    peppers,
    masterKey,
    keys,
    hasher,
    logger,
    metrics,
    async close() {
      keys.stop();
      await store.destroy();
    },
  };
}
