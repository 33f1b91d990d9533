/**
 * `POST /api/v1/sso/test` and `janua sso test`: is this connection usable, and if a captured SAMLResponse is
 * given, would it be accepted — with every failed check explained in words an admin understands. Nothing is
 * stored and no one is signed in; the metadata URL (if any) is fetched again to see that it still answers.
 */
import type { Deps } from '../deps.js';
import type { Actor } from '../rbac/access.js';
import { ssoRequests } from '../store/repos/sso-flow.js';
import { loadConnection } from './connections.js';
import { fetchMetadata, readMetadata } from './metadata.js';
import { certificateInfo, connectionStatus } from './present.js';
import { buildAuthnRequest, explainSamlResponse, type SamlFailure } from './saml-api.js';
import { connectionAcsUrl, idpConfigFor, spConfigFor } from './sp.js';

export interface TestReport {
  success: boolean;
  provider: string;
  metadata_valid: boolean | null;
  connection_status: 'active' | 'inactive' | 'error';
  error_message: string | null;
  details: {
    authn_request_url: string;
    idp_entity_id: string;
    idp_sso_url: string;
    sp_entity_id: string;
    acs_url: string;
    certificates: ReturnType<typeof certificateInfo>[];
    problems: string[];
    response?: {
      accepted: boolean;
      failures: SamlFailure[];
      name_id?: string;
      attributes?: Record<string, string[]>;
      issuer?: string;
    };
  };
}

/** The InResponseTo of a captured response, read only to find the request it answers (for the explanation). */
function claimedRequestId(samlResponse: string): string | null {
  try {
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
    return /<(?:\w+:)?Response\b[^>]*\sInResponseTo="([^"]{1,256})"/.exec(xml)?.[1] ?? null;
  } catch {
    return null;
  }
}

export async function testConnection(
  deps: Pick<Deps, 'store' | 'clock' | 'config' | 'box'>,
  actor: Actor,
  id: string,
  opts: { samlResponse?: string | undefined },
): Promise<TestReport> {
  const c = await loadConnection(deps, actor, id, 'sso:read');
  const now = deps.clock.now();
  const sp = spConfigFor(deps.config, deps.box, c);
  const idp = idpConfigFor(c);
  const problems: string[] = [];
  if (!c.enabled) problems.push('The connection is disabled: no one can sign in through it');
  const certs = c.idpCertificates.map((p) => certificateInfo(p, now));
  if (certs.length && certs.every((x) => x.expired))
    problems.push(
      'Every IdP signing certificate has expired (SAML trusts the key, but the IdP likely rotated it)',
    );
  let metadataValid: boolean | null = null;
  if (c.metadataUrl) {
    try {
      readMetadata(deps.config, await fetchMetadata(deps.config, c.metadataUrl), 'saml_metadata_url');
      metadataValid = true;
    } catch (err) {
      metadataValid = false;
      problems.push(`IdP metadata: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const details: TestReport['details'] = {
    authn_request_url: buildAuthnRequest(sp, idp, 'test').url,
    idp_entity_id: c.idpEntityId,
    idp_sso_url: c.idpSsoUrl,
    sp_entity_id: sp.entityId,
    acs_url: connectionAcsUrl(deps.config, c.id),
    certificates: certs,
    problems,
  };
  if (opts.samlResponse !== undefined) {
    const claimed = claimedRequestId(opts.samlResponse);
    const req = claimed ? await ssoRequests.find(deps.store.db, claimed) : undefined;
    const r = await explainSamlResponse({
      samlResponse: opts.samlResponse,
      sp,
      idp,
      expectedRequestId: req && req.connectionId === c.id ? req.id : null,
      now,
      skewSeconds: deps.config.samlClockSkewSeconds,
      maxBytes: deps.config.samlMaxResponseKb * 1024,
    });
    const failures = [...r.failures];
    if (claimed && !(req && req.connectionId === c.id))
      failures.push({
        check: 'in_response_to',
        message: `The response answers request ${claimed}, which this connection did not send (or it was cleaned up); a live sign-in would refuse it`,
      });
    details.response = {
      accepted: failures.length === 0,
      failures,
      ...(r.assertion
        ? { name_id: r.assertion.nameId, attributes: r.assertion.attributes, issuer: r.assertion.issuer }
        : {}),
    };
    if (failures.length) problems.push(...failures.map((f) => f.message));
  }
  return {
    success: problems.length === 0,
    provider: c.provider,
    metadata_valid: metadataValid,
    connection_status: connectionStatus(c),
    error_message: problems[0] ?? null,
    details,
  };
}
