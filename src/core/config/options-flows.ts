/**
 * Settings of the email-driven flows (verification, password reset, magic links, email change), kept apart
 * from schema.ts so each area's group merges on its own.
 */
import type { OptionSpec } from './schema.js';

export interface FlowsConfig {
  redirectAllowlist: string[];
  requireEmailVerification: boolean;
  magicLinkCreateUsers: boolean;
  flowMailsPerHour: number;
}

export const FLOWS_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'redirectAllowlist',
    env: 'REDIRECT_ALLOWLIST',
    type: 'list',
    default: [],
    doc: 'Pages a mailed link (verification, password reset, magic link, email change) may lead to, as `redirect_url`: each entry is an origin (`https://app.example.com`) or an origin and path prefix (`https://app.example.com/auth/`). Anything else is refused with 400 BAD_REQUEST. Empty: links lead to `JANUA_BASE_URL` only.',
  },
  {
    key: 'requireEmailVerification',
    env: 'REQUIRE_EMAIL_VERIFICATION',
    type: 'bool',
    default: false,
    doc: 'Refuse password sign-in (403) until the address is verified; sign-up then answers without a session. Off: unverified users sign in, with `email_verified: false`.',
  },
  {
    key: 'magicLinkCreateUsers',
    env: 'MAGIC_LINK_CREATE_USERS',
    type: 'bool',
    default: false,
    doc: 'Whether a magic link asked for an unknown email creates the account (verified on first use). Off: unknown emails get no mail (and the same answer).',
  },
  {
    key: 'flowMailsPerHour',
    env: 'FLOW_MAILS_PER_HOUR',
    type: 'int',
    default: 5,
    min: 1,
    max: 1000,
    doc: 'Per address and flow: at most this many verification, reset, magic-link or email-change mails an hour. Requests beyond it get the usual answer and send nothing (so the limit reveals no account).',
  },
];
