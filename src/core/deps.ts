import type { Logger } from 'pino';
import type { PasswordHasher } from './auth/passwords.js';
import type { Clock } from './clock.js';
import type { JanuaConfig } from './config/schema.js';
import type { MasterKey } from './crypto/master-key.js';
import type { Peppers } from './crypto/peppers.js';
import type { SecretBox } from './crypto/secrets.js';
import type { KeyRing } from './keys/keyring.js';
import type { Metrics } from './metrics.js';
import type { Store } from './store/store.js';

/** Everything a service may use. Each service takes only the part it needs: `Pick<Deps, 'store' | 'clock'>`. */
export interface Deps {
  config: JanuaConfig;
  store: Store;
  clock: Clock;
  box: SecretBox;
  /** Keyed hashes of low-entropy secrets (backup codes), under peppers sealed with `box`. */
  peppers: Peppers;
  masterKey: MasterKey;
  keys: KeyRing;
  hasher: PasswordHasher;
  logger: Logger;
  metrics: Metrics;
}
