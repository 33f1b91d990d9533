/**
 * IdP metadata: fetched by URL (undici; the webhook SSRF guard on the resolved address unless
 * SSO_ALLOW_PRIVATE_METADATA_URLS; a time limit on the whole fetch; a size cap enforced while reading, so a
 * huge or endless answer is cut off) or pasted as XML, then parsed by the SAML engine. The refresh job fetches
 * every URL-configured connection again: an IdP rolling its certificate over publishes both for a while, and
 * every certificate the metadata lists is trusted (so responses signed with either verify through the
 * roll-over). A failed refresh keeps the last good metadata and records the error.
 */
import { Agent, request } from 'undici';
import type { JanuaConfig } from '../config/schema.js';
import type { Deps } from '../deps.js';
import { validation } from '../errors.js';
import { audit, emit, SYSTEM_CONTEXT } from '../events/events.js';
import { type SsoConnection, ssoConnections } from '../store/repos/sso-connections.js';
import { JANUA_VERSION } from '../version.js';
import { guardedConnector } from '../webhooks/outbound.js';
import { describeError } from '../webhooks/post.js';
import { checkEndpointUrl } from '../webhooks/targets.js';
import { type ParsedIdpMetadata, parseIdpMetadata } from './saml-api.js';

type MetadataConfig = Pick<
  JanuaConfig,
  'ssoMetadataMaxKb' | 'ssoMetadataTimeoutSeconds' | 'ssoAllowPrivateMetadataUrls'
>;

/** The metadata URL, checked like a webhook URL (absolute http(s), no credentials, no private literal). */
export function checkMetadataUrl(config: MetadataConfig, raw: string): string {
  try {
    return checkEndpointUrl(raw, config.ssoAllowPrivateMetadataUrls);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw validation(
      msg
        .replace(/^url/, 'saml_metadata_url')
        .replace('WEBHOOK_ALLOW_PRIVATE_TARGETS', 'SSO_ALLOW_PRIVATE_METADATA_URLS'),
      { saml_metadata_url: 'invalid' },
    );
  }
}

/** Fetches metadata XML; throws an Error whose message says what went wrong (for the API and the job). */
export async function fetchMetadata(config: MetadataConfig, url: string): Promise<string> {
  const timeoutMs = config.ssoMetadataTimeoutSeconds * 1000;
  const cap = config.ssoMetadataMaxKb * 1024;
  const dispatcher = new Agent({
    connect: guardedConnector({
      connectTimeoutMs: timeoutMs,
      allowPrivate: config.ssoAllowPrivateMetadataUrls,
    }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher,
      signal,
      headers: {
        accept: 'application/samlmetadata+xml, application/xml, text/xml',
        'user-agent': `Janua/${JANUA_VERSION}`,
      },
    });
    if (res.statusCode !== 200) {
      res.body.destroy();
      throw new Error(`the metadata URL answered HTTP ${res.statusCode} (redirects are not followed)`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > cap) {
        res.body.destroy();
        throw new Error(`the metadata is larger than ${config.ssoMetadataMaxKb} KiB (SSO_METADATA_MAX_KB)`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (signal.aborted)
      throw new Error(
        `no complete answer within ${config.ssoMetadataTimeoutSeconds} s (SSO_METADATA_TIMEOUT_SECONDS)`,
      );
    throw new Error(`could not fetch the metadata: ${describeError(err)}`);
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

/** Parses metadata, as a 422 naming the field when it is not usable IdP metadata. */
export function readMetadata(config: MetadataConfig, xml: string, field: string): ParsedIdpMetadata {
  if (Buffer.byteLength(xml) > config.ssoMetadataMaxKb * 1024)
    throw validation(`${field} is larger than ${config.ssoMetadataMaxKb} KiB (SSO_METADATA_MAX_KB)`, {
      [field]: 'too large',
    });
  let parsed: ParsedIdpMetadata;
  try {
    parsed = parseIdpMetadata(xml);
  } catch (err) {
    throw validation(
      `${field} is not usable IdP metadata: ${err instanceof Error ? err.message : String(err)}`,
      {
        [field]: 'invalid',
      },
    );
  }
  if (!parsed.ssoRedirectUrl)
    throw validation(`${field} has no SingleSignOnService with the HTTP-Redirect binding`, {
      [field]: 'invalid',
    });
  if (!parsed.certificates.length)
    throw validation(`${field} lists no signing certificate`, { [field]: 'invalid' });
  return parsed;
}

/** What a connection takes from parsed metadata. */
export function fromMetadata(m: ParsedIdpMetadata) {
  return {
    idpEntityId: m.entityId,
    idpSsoUrl: m.ssoRedirectUrl as string,
    idpCertificates: m.certificates,
    idpWantsSignedRequests: m.wantAuthnRequestsSigned,
  };
}

export type RefreshDeps = Pick<Deps, 'store' | 'clock' | 'config'>;

/**
 * Fetches one connection's metadata again and stores what changed. Returns the updated connection; on failure
 * keeps the last good IdP settings, records `metadata_error`, and returns it as well (the error says why).
 */
export async function refreshConnection(deps: RefreshDeps, c: SsoConnection): Promise<SsoConnection> {
  if (!c.metadataUrl) return c;
  const now = deps.clock.now();
  let next: ReturnType<typeof fromMetadata> & { metadataXml: string };
  try {
    const xml = await fetchMetadata(deps.config, c.metadataUrl);
    next = { ...fromMetadata(readMetadata(deps.config, xml, 'metadata')), metadataXml: xml };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return (
      (await ssoConnections.update(deps.store.db, c.id, { metadataError: error.slice(0, 1000) }, now)) ?? c
    );
  }
  const changed =
    next.idpEntityId !== c.idpEntityId ||
    next.idpSsoUrl !== c.idpSsoUrl ||
    next.idpWantsSignedRequests !== c.idpWantsSignedRequests ||
    JSON.stringify(next.idpCertificates) !== JSON.stringify(c.idpCertificates);
  return deps.store.transaction(async (tx) => {
    const updated = await ssoConnections.update(
      tx,
      c.id,
      { ...next, metadataRefreshedAt: now, metadataError: null },
      now,
    );
    if (changed) {
      await audit(
        tx,
        SYSTEM_CONTEXT,
        {
          action: 'sso.connection.metadata_refreshed',
          targetType: 'sso_connection',
          targetId: c.id,
          metadata: { organization_id: c.organizationId, certificates: next.idpCertificates.length },
        },
        now,
      );
      await emit(
        tx,
        'sso.connection.updated',
        { type: 'sso_connection', id: c.id },
        { connection_id: c.id, organization_id: c.organizationId, reason: 'metadata_refreshed' },
        now,
      );
    }
    return updated ?? c;
  });
}

/** The `sso.metadata-refresh` job: every URL-configured connection, one at a time. */
export async function refreshAllMetadata(
  deps: RefreshDeps,
  signal: AbortSignal,
): Promise<{ refreshed: number; failed: number }> {
  let refreshed = 0;
  let failed = 0;
  for (const c of await ssoConnections.withMetadataUrl(deps.store.db)) {
    if (signal.aborted) break;
    const after = await refreshConnection(deps, c);
    if (after.metadataError) failed++;
    else refreshed++;
  }
  return { refreshed, failed };
}
