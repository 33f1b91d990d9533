/**
 * Configuration options, one group of ./schema.ts OPTIONS: password hashing, the password
 * policy and the sign-in lockout.
 */

import type { OptionSpec } from './schema.js';

export const PASSWORD_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'bcryptRounds',
    env: 'BCRYPT_ROUNDS',
    type: 'int',
    default: 12,
    min: 4,
    max: 15,
    doc: 'bcrypt cost factor for new password hashes.',
  },
  {
    key: 'passwordHashConcurrency',
    env: 'PASSWORD_HASH_CONCURRENCY',
    type: 'int',
    default: undefined,
    derivedDefault: 'number of CPU cores',
    min: 1,
    max: 256,
    doc: 'Password hashes computed at once (off the event loop).',
  },
  {
    key: 'passwordHashMaxWaitMs',
    env: 'PASSWORD_HASH_MAX_WAIT_MS',
    type: 'int',
    default: 500,
    min: 0,
    max: 60000,
    doc: 'Estimated queue wait above which a password request is shed with 503 and `Retry-After` instead of queued.',
  },
  {
    key: 'passwordHashShedDelayMs',
    env: 'PASSWORD_HASH_SHED_DELAY_MS',
    type: 'int',
    default: 250,
    min: 0,
    max: 5000,
    doc: 'How long a shed password request (503) is held before it is answered, so clients that retry at once without honouring `Retry-After` cannot take the CPU the hashes need (0: answer at once).',
  },
  {
    key: 'passwordMinLength',
    env: 'PASSWORD_MIN_LENGTH',
    type: 'int',
    default: 12,
    min: 8,
    max: 72,
    doc: 'Minimum password length.',
  },
  {
    key: 'passwordRequireUppercase',
    env: 'PASSWORD_REQUIRE_UPPERCASE',
    type: 'bool',
    default: true,
    doc: 'Passwords need an uppercase letter.',
  },
  {
    key: 'passwordRequireLowercase',
    env: 'PASSWORD_REQUIRE_LOWERCASE',
    type: 'bool',
    default: true,
    doc: 'Passwords need a lowercase letter.',
  },
  {
    key: 'passwordRequireDigit',
    env: 'PASSWORD_REQUIRE_DIGIT',
    type: 'bool',
    default: true,
    doc: 'Passwords need a digit.',
  },
  {
    key: 'passwordRequireSymbol',
    env: 'PASSWORD_REQUIRE_SYMBOL',
    type: 'bool',
    default: true,
    doc: 'Passwords need a character that is not a letter or digit.',
  },
  {
    key: 'lockoutMaxAttempts',
    env: 'LOCKOUT_MAX_ATTEMPTS',
    type: 'int',
    default: 5,
    min: 1,
    max: 1000,
    doc: 'Failed sign-ins for one email before it is locked.',
  },
  {
    key: 'lockoutMinutes',
    env: 'LOCKOUT_DURATION_MINUTES',
    type: 'int',
    default: 15,
    min: 1,
    max: 10080,
    doc: 'How long a lockout lasts.',
  },
];
