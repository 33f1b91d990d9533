/**
 * Configuration options, one group of ./schema.ts OPTIONS: listening, the public URL,
 * storage and the master key.
 */

import type { OptionSpec } from './schema.js';

export const SERVER_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'host',
    env: 'JANUA_HOST',
    flag: 'host',
    type: 'string',
    default: '127.0.0.1',
    doc: 'Address `janua serve` listens on.',
  },
  {
    key: 'port',
    env: 'PORT',
    flag: 'port',
    type: 'int',
    default: 8000,
    min: 0,
    max: 65535,
    doc: 'TCP port `janua serve` listens on (0 picks a free one).',
  },
  {
    key: 'baseUrl',
    env: 'JANUA_BASE_URL',
    flag: 'base-url',
    type: 'string',
    default: undefined,
    derivedDefault: '`http://HOST:PORT`',
    doc: 'Public URL of this service; the `iss` claim of every token.',
  },
  {
    key: 'dataDir',
    env: 'JANUA_DATA_DIR',
    flag: 'data-dir',
    type: 'string',
    default: undefined,
    derivedDefault: '`$XDG_DATA_HOME/janua` or `~/.local/share/janua`',
    doc: 'Directory for the embedded SQLite database and the generated master key; created if missing.',
  },
  {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    flag: 'database-url',
    type: 'string',
    default: undefined,
    derivedDefault: '`sqlite:DATA_DIR/janua.db`',
    doc: '`sqlite:PATH`, `sqlite:///ABS/PATH` or `postgres://USER:PASS@HOST:PORT/DB`.',
  },
  {
    key: 'migrateOnStart',
    env: 'JANUA_MIGRATE_ON_START',
    flag: 'migrate',
    type: 'bool',
    default: true,
    doc: '`janua serve` applies pending schema migrations at start (`--no-migrate` refuses and exits if any are pending).',
  },
  {
    key: 'masterKey',
    env: 'JANUA_MASTER_KEY',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'Master key (base64, 32 bytes) that encrypts signing keys and other secrets at rest.',
  },
  {
    key: 'masterKeyFile',
    env: 'JANUA_MASTER_KEY_FILE',
    flag: 'master-key-file',
    type: 'string',
    default: undefined,
    derivedDefault: '`DATA_DIR/master.key`, generated on first start',
    doc: 'File holding the master key. Used when `JANUA_MASTER_KEY` is unset.',
  },
];
