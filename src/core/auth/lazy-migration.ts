/**
 * Lazy (trickle) migration off Auth0 (issue 13): a user imported from Auth0 without a password hash signs in;
 * the password they typed is checked once against the Auth0 tenant with the password-realm grant, and on
 * success it is hashed at our cost and kept, so nobody has to reset. Any failure — wrong password, Auth0 down,
 * slow or misconfigured — is the ordinary invalid-credentials answer; the reason goes to the log (never the
 * secret, the password or a token). Sign-in (./service.ts) decides when to ask; this file only asks.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Agent, type Dispatcher, request } from 'undici';
import type { JanuaConfig } from '../config/schema.js';
import { importRecords } from '../store/repos/imports.js';
import type { Executor } from '../store/store.js';

export const AUTH0_SOURCE = 'auth0';
const REALM_GRANT = 'http://auth0.com/oauth/grant-type/password-realm';
/** Each sign-in waits at most this long for Auth0 (it holds a place in the hash queue meanwhile). */
const TIMEOUT_MS = 5_000;

export type LazyCheck = 'ok' | 'invalid' | 'unavailable';

interface LazySettings {
  domain: string;
  connection: string;
  clientId: string;
  clientSecret: string;
}

let dispatcher: Dispatcher | undefined;
/** One keep-alive pool per process, with bounded connect/header/body times (trusts NODE_EXTRA_CA_CERTS). */
function lazyDispatcher(): Dispatcher {
  dispatcher ??= new Agent({
    connect: { timeout: TIMEOUT_MS },
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
    keepAliveTimeout: 30_000,
  });
  return dispatcher;
}

const secretFiles = new Map<string, string>();

/** The lazy-migration settings, or undefined when it is off or incomplete (then nobody is checked). */
export function lazySettings(config: JanuaConfig, logger?: Logger): LazySettings | undefined {
  if (!config.auth0LazyMigration || !config.auth0Domain) return undefined;
  const clientId = config.auth0LazyClientId ?? config.auth0ClientId;
  let clientSecret = config.auth0LazyClientSecret ?? config.auth0ClientSecret;
  const file = config.auth0ClientSecretFile;
  if (!clientSecret && file) {
    if (!secretFiles.has(file)) {
      try {
        secretFiles.set(file, readFileSync(file, 'utf8').trim());
      } catch (err) {
        logger?.warn(
          { code: (err as NodeJS.ErrnoException).code },
          'auth0 lazy migration: cannot read AUTH0_CLIENT_SECRET_FILE',
        );
        return undefined;
      }
    }
    clientSecret = secretFiles.get(file);
  }
  if (!clientId || !clientSecret) return undefined;
  const domain = config.auth0Domain.replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  return { domain, connection: config.auth0LazyConnection, clientId, clientSecret };
}

/** Whether this user came from Auth0 without a password (and so may be checked against the tenant). */
export async function needsAuth0Password(ex: Executor, userId: string): Promise<boolean> {
  const rec = await importRecords.findByLocal(ex, 'user', userId);
  return rec?.source === AUTH0_SOURCE && rec.needsPassword;
}

/** Asks the tenant whether `password` is this user's Auth0 password (password-realm grant). */
export async function checkAuth0Password(
  s: LazySettings,
  email: string,
  password: string,
  logger?: Logger,
  clientIp?: string,
): Promise<LazyCheck> {
  try {
    const res = await request(`https://${s.domain}/oauth/token`, {
      method: 'POST',
      dispatcher: lazyDispatcher(),
      // Auth0's brute-force protection then counts the user's address, not ours (honoured when the application
      // has "Trust Token Endpoint IP Header" on; ignored otherwise).
      headers: {
        'content-type': 'application/json',
        ...(clientIp ? { 'auth0-forwarded-for': clientIp } : {}),
      },
      body: JSON.stringify({
        grant_type: REALM_GRANT,
        username: email,
        password,
        realm: s.connection,
        client_id: s.clientId,
        client_secret: s.clientSecret,
        scope: 'openid',
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = (await res.body.json().catch(() => ({}))) as { error?: unknown };
    if (res.statusCode === 200) return 'ok';
    const error = typeof body.error === 'string' ? body.error.slice(0, 60) : undefined;
    // invalid_grant is a wrong password (or a blocked user); anything else is our setup or Auth0's trouble.
    if ((res.statusCode === 403 || res.statusCode === 401) && error === 'invalid_grant') return 'invalid';
    logger?.warn({ status: res.statusCode, error }, 'auth0 lazy migration: the tenant refused the check');
    return 'unavailable';
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string } };
    logger?.warn(
      { error: e.name, code: e.code ?? e.cause?.code },
      'auth0 lazy migration: the tenant is unreachable; the sign-in is refused',
    );
    return 'unavailable';
  }
}
