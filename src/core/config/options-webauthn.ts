/**
 * Passkey (WebAuthn) settings (issue 14): the relying party's id and name, and the exact origins a ceremony may
 * come from. Spread into OPTIONS by ./schema.ts; `finishWebauthnConfig` derives the zero-config defaults from
 * JANUA_BASE_URL and refuses wildcards.
 */
import { isIP } from 'node:net';
import type { OptionSpec } from './schema.js';

export interface WebauthnConfig {
  webauthnRpId: string;
  webauthnRpName: string;
  webauthnOrigins: string[];
}

export const WEBAUTHN_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'webauthnRpId',
    env: 'WEBAUTHN_RP_ID',
    type: 'string',
    default: undefined,
    derivedDefault: 'the host name of `JANUA_BASE_URL` (`localhost` when that is an IP address)',
    doc: 'WebAuthn relying party id: the domain passkeys are bound to (e.g. `example.com`, which also serves `app.example.com`). Changing it orphans every registered passkey.',
  },
  {
    key: 'webauthnRpName',
    env: 'WEBAUTHN_RP_NAME',
    type: 'string',
    default: 'Janua',
    doc: 'Name the browser shows when a passkey is created.',
  },
  {
    key: 'webauthnOrigins',
    env: 'WEBAUTHN_ORIGINS',
    type: 'list',
    default: undefined,
    derivedDefault: 'the origin of `JANUA_BASE_URL` (on `localhost` when that is an IP address)',
    doc: 'Exact origins (`https://app.example.com`, comma-separated) whose pages may run passkey ceremonies; each must be the RP id or under it. No wildcards: a ceremony from any other origin is refused.',
  },
];

/** Derives the defaults and checks the origins; throws a message naming the setting. */
export function finishWebauthnConfig(
  cfg: WebauthnConfig & { baseUrl: string },
  fail: (msg: string) => never,
): void {
  const base = new URL(cfg.baseUrl);
  // An IP address cannot be an RP id (WebAuthn §7.1 needs a domain; browsers refuse one), so a base URL on
  // 127.0.0.1 — the zero-config default — stands for `localhost`, the name browsers treat as a secure context.
  const ip = isIP(base.hostname.replace(/^\[|\]$/g, '')) !== 0;
  if (ip) base.hostname = 'localhost';
  cfg.webauthnRpId = (cfg.webauthnRpId ?? base.hostname).trim().toLowerCase();
  if (!cfg.webauthnRpId || /[/:*\s]/.test(cfg.webauthnRpId))
    fail(`WEBAUTHN_RP_ID must be a bare domain name such as example.com; got "${cfg.webauthnRpId}"`);
  const origins = cfg.webauthnOrigins ?? [base.origin];
  cfg.webauthnOrigins = origins.map((raw) => {
    if (raw.includes('*'))
      fail(`WEBAUTHN_ORIGINS must list exact origins; wildcards are not accepted: "${raw}"`);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return fail(`WEBAUTHN_ORIGINS entries must be origins such as https://app.example.com; got "${raw}"`);
    }
    if (url.origin !== raw.replace(/\/+$/, ''))
      fail(`WEBAUTHN_ORIGINS entries must be bare origins (scheme, host, port; no path); got "${raw}"`);
    const host = url.hostname;
    // WebAuthn §5.1.3/§7.1: the RP id must be the origin's host or a registrable suffix of it.
    if (host !== cfg.webauthnRpId && !host.endsWith(`.${cfg.webauthnRpId}`))
      fail(`WEBAUTHN_ORIGINS entry "${raw}" is not on WEBAUTHN_RP_ID "${cfg.webauthnRpId}"`);
    return url.origin;
  });
  if (cfg.webauthnOrigins.length === 0) fail('WEBAUTHN_ORIGINS must list at least one origin');
}
