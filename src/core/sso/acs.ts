/**
 * The Assertion Consumer Service (SAML profiles §4.1.4): a posted SAMLResponse becomes a one-time code for
 * the app, or a refusal — audited with its reason and announced (`sso.signin.failed`), no session made.
 *
 * Order matters: the size cap before any XML work; the connection from the URL or the RelayState (an
 * unsolicited response, with no request of ours to answer, only where the connection allows IdP-initiated
 * sign-in); every check of the SAML engine (signature with the configured certificates only, XSW, issuer,
 * destination, audience, recipient, times, InResponseTo = our request); then, in one committed step, the
 * request is spent — only by the browser that started it — and the assertion id recorded in the replay
 * cache every node shares; only then a user is resolved or provisioned and the code issued.
 */

import { issueAuthCode } from '../auth/codes.js';
import { checkRedirectUrl } from '../auth/flows/links.js';
import { hashToken } from '../crypto/secrets.js';
import { JanuaError } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { UUID_PATTERN } from '../rbac/access.js';
import { type SsoConnection, ssoConnections } from '../store/repos/sso-connections.js';
import { type SsoRequest, samlAssertionIds, ssoRequests } from '../store/repos/sso-flow.js';
import type { SsoFlowDeps } from './initiate.js';
import { appRedirect } from './initiate.js';
import { ProvisionRefused, provisionUser } from './provision.js';
import { type SamlFailure, SamlRefused, type ValidatedAssertion, validateSamlResponse } from './saml-api.js';
import { idpConfigFor, spConfigFor } from './sp.js';

/**
 * AuthnContext classes that say the IdP used more than one factor (SAML authn context §3.4; Microsoft's and
 * REFEDS' MFA profiles): with one of these the org's MFA requirement is met by the IdP.
 */
export const MFA_CONTEXTS = new Set([
  'http://schemas.microsoft.com/claims/multipleauthn',
  'https://refeds.org/profile/mfa',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:X509',
]);

export interface AcsInput {
  /** From the per-connection ACS URL; absent at the shared one (the RelayState names the request). */
  connectionId?: string | undefined;
  samlResponse: unknown;
  relayState?: unknown;
  browserToken?: string | undefined;
  /** The URL the response was posted to: Destination and Recipient must name it. */
  acsUrl: string;
}

export interface AcsResult {
  /** `redirect_uri?code=…&state=…` */
  redirect: string;
  userId: string;
  connectionId: string;
}

/** A refused response: the ACS answers 401 with the reason code (the details are in the audit log). */
export class SsoRefused extends JanuaError {
  constructor(
    readonly reason: string,
    readonly failures: SamlFailure[],
  ) {
    super('AUTHENTICATION_ERROR', `SAML sign-in refused (${reason}); the audit log has the details`);
  }
}

async function refuse(
  deps: SsoFlowDeps,
  ctx: RequestContext,
  c: SsoConnection | undefined,
  reason: string,
  failures: SamlFailure[],
): Promise<never> {
  const now = deps.clock.now();
  const data = { connection_id: c?.id ?? null, organization_id: c?.organizationId ?? null, reason };
  await deps.store.transaction(async (tx) => {
    await audit(
      tx,
      ctx,
      {
        action: 'sso.signin',
        outcome: 'failure',
        targetType: 'sso_connection',
        targetId: c?.id ?? null,
        metadata: {
          ...data,
          checks: failures.map((f) => f.check),
          messages: failures.map((f) => f.message.slice(0, 300)),
        },
      },
      now,
    );
    await emit(tx, 'sso.signin.failed', { type: 'sso_connection', id: c?.id ?? 'unknown' }, data, now);
  });
  throw new SsoRefused(reason, failures);
}

const fail = (check: string, message: string): SamlFailure[] => [{ check, message }];

/** Why a request could not be spent, in words (unknown, answered already, expired, another browser). */
async function requestProblem(
  deps: SsoFlowDeps,
  req: SsoRequest,
  browserHash: string | null,
): Promise<string> {
  const stored = await ssoRequests.find(deps.store.db, req.id);
  if (stored?.consumed) return 'The AuthnRequest this response answers was already answered once (a replay)';
  if (stored && stored.expiresAt <= deps.clock.now())
    return 'The AuthnRequest this response answers has expired';
  if (!browserHash || stored?.browserHash !== browserHash)
    return 'The response arrived in another browser than the one that started the sign-in';
  return 'The AuthnRequest this response answers is unknown';
}

export async function consumeAssertion(
  deps: SsoFlowDeps,
  input: AcsInput,
  ctx: RequestContext,
): Promise<AcsResult> {
  const maxBytes = deps.config.samlMaxResponseKb * 1024;
  // Size first: base64 is 4/3 of the bytes; nothing larger is decoded or parsed.
  if (typeof input.samlResponse !== 'string' || input.samlResponse.length === 0)
    return refuse(
      deps,
      ctx,
      undefined,
      'missing_response',
      fail('encoding', 'The form has no SAMLResponse field'),
    );
  if (input.samlResponse.length > Math.ceil((maxBytes * 4) / 3) + 4)
    return refuse(
      deps,
      ctx,
      undefined,
      'size',
      fail(
        'size',
        `The SAMLResponse is larger than ${deps.config.samlMaxResponseKb} KiB (SAML_MAX_RESPONSE_KB)`,
      ),
    );
  const relayState =
    typeof input.relayState === 'string' && input.relayState.length <= 512 ? input.relayState : undefined;
  const req = relayState ? await ssoRequests.findByRelayState(deps.store.db, relayState) : undefined;
  const connectionId = input.connectionId ?? req?.connectionId;
  const c =
    connectionId && UUID_PATTERN.test(connectionId)
      ? await ssoConnections.findById(deps.store.db, connectionId.toLowerCase())
      : undefined;
  if (!c)
    return refuse(
      deps,
      ctx,
      undefined,
      'unknown_connection',
      fail('structure', 'No SSO connection answers at this address for this RelayState'),
    );
  if (!c.enabled)
    return refuse(deps, ctx, c, 'connection_disabled', fail('structure', 'The SSO connection is disabled'));
  if (req && req.connectionId !== c.id)
    return refuse(
      deps,
      ctx,
      c,
      'in_response_to',
      fail('in_response_to', 'The RelayState belongs to another connection'),
    );
  if (!req && !c.allowIdpInitiated)
    return refuse(
      deps,
      ctx,
      c,
      'unsolicited',
      fail(
        'in_response_to',
        'An unsolicited (IdP-initiated) response, and this connection allows only sign-ins started here',
      ),
    );

  let a: ValidatedAssertion;
  try {
    a = await validateSamlResponse({
      samlResponse: input.samlResponse,
      sp: spConfigFor(deps.config, deps.box, c, input.acsUrl),
      idp: idpConfigFor(c),
      expectedRequestId: req?.id ?? null,
      now: deps.clock.now(),
      skewSeconds: deps.config.samlClockSkewSeconds,
      maxBytes,
    });
  } catch (err) {
    if (err instanceof SamlRefused)
      return refuse(deps, ctx, c, err.failures[0]?.check ?? 'invalid', err.failures);
    throw err;
  }

  // Spend the request (this browser only) and record the assertion id, committed before anyone is signed in.
  const browserHash = input.browserToken ? hashToken(input.browserToken) : null;
  const now = deps.clock.now();
  const spent = await deps.store.transaction(async (tx) => {
    if (req && !(browserHash && (await ssoRequests.consume(tx, req.id, c.id, browserHash, now))))
      return 'request' as const;
    if (!(await samlAssertionIds.remember(tx, a.issuer, a.assertionId, a.replayUntil)))
      return 'replay' as const;
    return 'ok' as const;
  });
  if (spent === 'request')
    return refuse(
      deps,
      ctx,
      c,
      'in_response_to',
      fail('in_response_to', await requestProblem(deps, req as SsoRequest, browserHash)),
    );
  if (spent === 'replay')
    return refuse(deps, ctx, c, 'replay', fail('replay', 'This assertion was already used once (replay)'));

  const redirectUri = req?.redirectUri ?? unsolicitedTarget(deps, relayState);
  const mfa = a.authnContextClassRef !== null && MFA_CONTEXTS.has(a.authnContextClassRef);
  let outcome: { code: string; userId: string };
  try {
    outcome = await deps.store.transaction(async (tx) => {
      const p = await provisionUser(deps, tx, c, a, ctx, now);
      const uctx = { ...ctx, actorId: p.user.id, actorType: 'user' as const };
      const data = { connection_id: c.id, organization_id: c.organizationId, user_id: p.user.id };
      await audit(
        tx,
        uctx,
        {
          action: 'sso.signin',
          targetType: 'user',
          targetId: p.user.id,
          metadata: {
            ...data,
            created: p.created,
            linked: p.linked,
            role: p.role,
            mfa_asserted: mfa,
            idp_initiated: !req,
          },
        },
        now,
      );
      await emit(
        tx,
        'sso.signin.succeeded',
        { type: 'user', id: p.user.id },
        { ...data, created: p.created },
        now,
      );
      const code = await issueAuthCode(
        tx,
        {
          userId: p.user.id,
          redirectUri,
          method: 'saml',
          mfaSatisfied: mfa,
          details: { connection_id: c.id, organization_id: c.organizationId },
        },
        now,
      );
      return { code, userId: p.user.id };
    });
  } catch (err) {
    if (err instanceof ProvisionRefused)
      return refuse(deps, ctx, c, err.reason, fail('subject', err.message));
    throw err;
  }
  const url = new URL(redirectUri);
  url.searchParams.set('code', outcome.code);
  if (req?.appState) url.searchParams.set('state', req.appState);
  return { redirect: url.href, userId: outcome.userId, connectionId: c.id };
}

/** An IdP-initiated sign-in goes to the RelayState when it is an allow-listed URL, else the base URL. */
function unsolicitedTarget(deps: SsoFlowDeps, relayState: string | undefined): string {
  if (relayState && /^https?:\/\//.test(relayState)) {
    try {
      return checkRedirectUrl(deps.config, relayState);
    } catch {
      // not allow-listed: fall through to the default
    }
  }
  return appRedirect(deps, undefined);
}
