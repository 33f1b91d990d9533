/**
 * SAML metadata (SAML metadata §2): the IdP's, read strictly (no DOCTYPE, no comments, one EntityDescriptor
 * with an IDPSSODescriptor for the SAML 2.0 protocol); ours, written by samlify.
 */
import * as samlify from 'samlify';
import { installSchemaValidator } from './schema.js';
import type { ParsedIdpMetadata, SpConfig } from './types.js';
import { all, children, NS, parseStrict, text, XmlRefused } from './xml.js';

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const MAX_METADATA = 1024 * 1024;

// samlify parses nothing without a schema validator; ours is the real one (./schema.ts).
installSchemaValidator();

/** Reads IdP metadata; throws an Error saying what is missing or wrong. */
export function parseIdpMetadata(xml: string): ParsedIdpMetadata {
  if (Buffer.byteLength(xml) > MAX_METADATA) throw new Error('the metadata is larger than 1 MiB');
  let doc: Document;
  try {
    doc = parseStrict(xml.replace(/<!--[\s\S]*?-->/g, ''));
  } catch (err) {
    throw new Error(err instanceof XmlRefused ? err.message : String(err));
  }
  const entities = all(doc, NS.metadata, 'EntityDescriptor').filter(
    (e) => all(e, NS.metadata, 'IDPSSODescriptor').length > 0,
  );
  if (entities.length !== 1)
    throw new Error(
      entities.length
        ? 'the metadata describes several IdPs; give the one of this connection'
        : 'no EntityDescriptor with an IDPSSODescriptor',
    );
  const entity = entities[0] as Element;
  const entityId = entity.getAttribute('entityID');
  if (!entityId) throw new Error('the EntityDescriptor has no entityID');
  const idp = all(entity, NS.metadata, 'IDPSSODescriptor')[0] as Element;
  if (
    !(idp.getAttribute('protocolSupportEnumeration') ?? '').includes('urn:oasis:names:tc:SAML:2.0:protocol')
  )
    throw new Error('the IDPSSODescriptor does not support the SAML 2.0 protocol');
  const sso = children(idp, NS.metadata, 'SingleSignOnService');
  const at = (binding: string) =>
    sso.find((s) => s.getAttribute('Binding') === binding)?.getAttribute('Location') ?? null;
  const certificates: string[] = [];
  for (const kd of children(idp, NS.metadata, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of all(kd, NS.dsig, 'X509Certificate')) {
      const body = (text(c) ?? '').replace(/\s+/g, '');
      if (body && !certificates.includes(body)) certificates.push(body);
    }
  }
  const validUntil = entity.getAttribute('validUntil');
  return {
    entityId,
    ssoRedirectUrl: at(REDIRECT),
    ssoPostUrl: at(POST),
    certificates: certificates.map(
      (b) => `-----BEGIN CERTIFICATE-----\n${b.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`,
    ),
    wantAuthnRequestsSigned: idp.getAttribute('WantAuthnRequestsSigned') === 'true',
    validUntil: validUntil && !Number.isNaN(Date.parse(validUntil)) ? new Date(validUntil) : null,
  };
}

/** samlify's SP for a connection (signing key, ACS, what we ask of the IdP). */
export function serviceProvider(sp: SpConfig, relayState = '') {
  return samlify.ServiceProvider({
    entityID: sp.entityId,
    authnRequestsSigned: true,
    wantAssertionsSigned: true,
    wantMessageSigned: false,
    privateKey: sp.signingKey,
    signingCert: [sp.signingCert, ...(sp.extraCerts ?? [])],
    encryptCert: [sp.signingCert, ...(sp.extraCerts ?? [])],
    encPrivateKey: sp.decryptionKeys[0] as string,
    nameIDFormat: [
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    ],
    assertionConsumerService: [{ Binding: POST, Location: sp.acsUrl }],
    relayState,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
}

/** Our SP metadata: signing and encryption certificates (current and, during a rotation, the previous one). */
export function buildSpMetadata(sp: SpConfig): string {
  return serviceProvider(sp).getMetadata();
}
