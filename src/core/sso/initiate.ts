/**
 * SP-initiated sign-in (SAML profiles §4.1.4.1): find the connection (by organization, by a verified email
 * domain, or by id), remember the AuthnRequest we send — bound to this browser (a cookie's hash) and to the
 * app's allow-listed redirect URI — and answer the IdP URL (HTTP-Redirect binding, signed when the IdP asks).
 */

import { checkRedirectUrl } from '../auth/flows/links.js';
import { hashToken, randomToken } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import { badRequest, notFound, validation } from '../errors.js';
import { findOrganization } from '../orgs/service.js';
import { UUID_PATTERN } from '../rbac/access.js';
import { type SsoConnection, ssoConnections } from '../store/repos/sso-connections.js';
import { ssoRequests } from '../store/repos/sso-flow.js';
import { connectionForEmail } from './domains.js';
import { buildAuthnRequest } from './saml-api.js';
import { idpConfigFor, spConfigFor } from './sp.js';

export type SsoFlowDeps = Pick<Deps, 'store' | 'clock' | 'config' | 'box'>;

/** The browser-binding cookie: random, HttpOnly; only its SHA-256 is stored with the request. */
export const SSO_COOKIE = 'janua_sso';
const BROWSER_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE = 512;

export interface InitiateInput {
  /** Organization slug or id. */
  org?: string | undefined;
  email?: string | undefined;
  connectionId?: string | undefined;
  redirectUri?: string | undefined;
  state?: string | undefined;
  /** The browser's current binding cookie, if it has one. */
  browserToken?: string | undefined;
}

export interface Initiated {
  url: string;
  requestId: string;
  relayState: string;
  /** The cookie value to set (the browser's, or a new one). */
  browserToken: string;
  connection: SsoConnection;
}

const noConnection = () => notFound('No enabled SSO connection for this organization');

async function findConnection(deps: SsoFlowDeps, input: InitiateInput): Promise<SsoConnection> {
  let c: SsoConnection | undefined;
  if (input.connectionId) {
    c = UUID_PATTERN.test(input.connectionId)
      ? await ssoConnections.findById(deps.store.db, input.connectionId.toLowerCase())
      : undefined;
  } else if (input.org) {
    const org = await findOrganization(deps, input.org).catch(() => undefined);
    if (org) c = (await ssoConnections.listByOrg(deps.store.db, org.id)).find((x) => x.enabled);
  } else if (input.email) {
    c = await connectionForEmail(deps, input.email);
    if (!c) throw notFound('No organization signs in with SSO for this email domain');
  } else throw validation('Give org, email or connection_id', { org: 'required' });
  if (!c?.enabled) throw noConnection();
  return c;
}

/** Where the code goes back: an allow-listed redirect URI, or the base URL when the app named none. */
export function appRedirect(deps: Pick<Deps, 'config'>, raw: string | undefined): string {
  if (raw === undefined || raw === '') return new URL(deps.config.baseUrl).href;
  try {
    return checkRedirectUrl(deps.config, raw);
  } catch {
    throw badRequest('redirect_uri is not on the allow-list (REDIRECT_ALLOWLIST)');
  }
}

export async function initiateSso(deps: SsoFlowDeps, input: InitiateInput): Promise<Initiated> {
  if (input.state !== undefined && (typeof input.state !== 'string' || input.state.length > MAX_STATE))
    throw validation(`state must be at most ${MAX_STATE} characters`, { state: 'too long' });
  const redirectUri = appRedirect(deps, input.redirectUri);
  const connection = await findConnection(deps, input);
  const browserToken =
    input.browserToken && BROWSER_TOKEN_RE.test(input.browserToken) ? input.browserToken : randomToken();
  const relayState = randomToken(16);
  const req = buildAuthnRequest(
    spConfigFor(deps.config, deps.box, connection),
    idpConfigFor(connection),
    relayState,
  );
  const now = deps.clock.now();
  await ssoRequests.insert(deps.store.db, {
    id: req.id,
    connectionId: connection.id,
    relayState,
    browserHash: hashToken(browserToken),
    redirectUri,
    appState: input.state ?? null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.config.ssoRequestMinutes * 60_000),
  });
  return { url: req.url, requestId: req.id, relayState, browserToken, connection };
}
