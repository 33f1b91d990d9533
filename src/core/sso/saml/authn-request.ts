/**
 * SP-initiated AuthnRequests over the HTTP-Redirect binding (SAML bindings §3.4), by samlify: deflated,
 * base64, with RelayState, always signed (SigAlg + Signature query parameters, RSA-SHA256). Our metadata says
 * AuthnRequestsSigned="true", so an IdP that honours it may refuse an unsigned request; one that does not ask
 * for signatures ignores them. The ID comes from a CSPRNG (samlify's default: `_` + a UUID v4).
 */
import * as samlify from 'samlify';
import { serviceProvider } from './metadata.js';
import type { IdpConfig, SpConfig } from './types.js';

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export function buildAuthnRequest(
  sp: SpConfig,
  idp: IdpConfig,
  relayState: string,
): { id: string; url: string } {
  const idpEntity = samlify.IdentityProvider({
    entityID: idp.entityId,
    singleSignOnService: [{ Binding: REDIRECT, Location: idp.ssoUrl }],
    // samlify warns about an IdP without a logout endpoint; single logout is not part of this flow.
    singleLogoutService: [{ Binding: REDIRECT, Location: idp.ssoUrl }],
    signingCert: idp.certificates[0] as string,
    wantAuthnRequestsSigned: true,
  });
  const r = serviceProvider(sp, relayState).createLoginRequest(idpEntity, 'redirect');
  return { id: r.id, url: r.context };
}
