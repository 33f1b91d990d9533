/**
 * Settings of TOTP multi-factor authentication (issue 14), kept apart from schema.ts so the group merges on
 * its own.
 */
import type { OptionSpec } from './schema.js';

export interface MfaConfig {
  mfaIssuer: string;
  mfaRecentSignInMinutes: number;
}

export const MFA_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'mfaIssuer',
    env: 'MFA_ISSUER',
    type: 'string',
    default: 'Janua',
    doc: 'The issuer an authenticator app shows beside the account (the `issuer` of the `otpauth://` URI and its label prefix).',
  },
  {
    key: 'mfaRecentSignInMinutes',
    env: 'MFA_RECENT_SIGNIN_MINUTES',
    type: 'int',
    default: 5,
    min: 0,
    max: 1440,
    doc: 'Starting TOTP enrolment needs the current password, or a session signed in within this many minutes. 0: always the password.',
  },
];
