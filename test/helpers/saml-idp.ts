/**
 * A SAML IdP for tests, built on samlify's IdentityProvider (its createLoginResponse signs the assertion
 * and/or the Response with xml-crypto and encrypts with xml-encryption), with its own key pair. The response
 * XML comes from one template here so each test can bend one field (audience, destination, recipient,
 * issuer, times, InResponseTo); `raw` gives the unsigned XML and `signXml` signs any XML, for attack shapes.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { encrypt } from '@authenio/xml-encryption';
import * as samlify from 'samlify';
import { SignedXml } from 'xml-crypto';
import { generateSpKeyPair } from '../../src/core/sso/saml/keys.js';
import type { IdpConfig } from '../../src/core/sso/saml/types.js';

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface ResponseOptions {
  sp: { entityId: string; acsUrl: string; encryptionCert?: string };
  requestId: string | null;
  nameId: string;
  attributes?: Record<string, string | string[]>;
  signResponse?: boolean;
  /** Default true. */
  signAssertion?: boolean;
  encrypt?: boolean;
  now?: Date;
  notOnOrAfterSeconds?: number;
  notBeforeSeconds?: number;
  audience?: string;
  destination?: string | null;
  recipient?: string;
  issuer?: string;
  status?: string;
  authnContextClassRef?: string;
  /** InResponseTo on the SubjectConfirmationData when it should differ from the Response's. */
  subjectRequestId?: string | null;
  assertionId?: string;
}

export interface TestIdp {
  config: IdpConfig;
  metadataXml: string;
  keyPem: string;
  certPem: string;
  /** The metadata listing extra signing certificates too (a roll-over). */
  metadataWithExtraCerts(certs: string[]): string;
  /** A response as the browser posts it (base64). */
  signResponse(o: ResponseOptions): Promise<string>;
  /** The unsigned response XML. */
  raw(o: ResponseOptions): { xml: string; responseId: string; assertionId: string };
  /** Signs the element with this ID in `xml` (enveloped, RSA-SHA256, exc-c14n), with this IdP's key or `keyPem`. */
  signXml(
    xml: string,
    id: string,
    opts?: { keyPem?: string; certPem?: string; issuerLocal?: string },
  ): string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
/** A PEM's base64 body, as metadata's `X509Certificate` carries it. */
export const bare = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

function metadata(entityId: string, ssoUrl: string, certs: string[]): string {
  const kds = certs
    .map(
      (c) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${bare(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  return `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(entityId)}"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${kds}<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="${REDIRECT}" Location="${esc(ssoUrl)}"/><md:SingleSignOnService Binding="${POST}" Location="${esc(ssoUrl)}"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
}

/** Replaces the Assertion of `xml` by an EncryptedAssertion to `certPem` (AES-256-CBC, RSA-OAEP), signed or not. */
export function encryptAssertion(xml: string, certPem: string): Promise<string> {
  const m = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml);
  if (!m) throw new Error('no assertion');
  return new Promise((resolve, reject) =>
    encrypt(
      m[0],
      {
        rsa_pub: new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        pem: certPem,
        encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
        keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
      },
      (err, out) =>
        err || !out
          ? reject(err ?? new Error('nothing encrypted'))
          : resolve(xml.replace(m[0], `<saml:EncryptedAssertion>${out}</saml:EncryptedAssertion>`)),
    ),
  );
}

export async function createTestIdp(opts: { entityId?: string; ssoUrl?: string } = {}): Promise<TestIdp> {
  const entityId = opts.entityId ?? `https://idp-${randomUUID().slice(0, 8)}.test/saml`;
  const ssoUrl = opts.ssoUrl ?? `${entityId}/sso`;
  const { privateKeyPem: keyPem, certificatePem: certPem } = await generateSpKeyPair('Test IdP');

  const raw = (o: ResponseOptions) => {
    const now = o.now ?? new Date();
    const at = (s: number) => new Date(now.getTime() + s * 1000).toISOString();
    const responseId = `_r${randomUUID().replace(/-/g, '')}`;
    const assertionId = o.assertionId ?? `_a${randomUUID().replace(/-/g, '')}`;
    const issuer = esc(o.issuer ?? entityId);
    const irt = o.requestId ? ` InResponseTo="${esc(o.requestId)}"` : '';
    const scdRequest = o.subjectRequestId === undefined ? o.requestId : o.subjectRequestId;
    const scdIrt = scdRequest ? ` InResponseTo="${esc(scdRequest)}"` : '';
    const destination = o.destination === null ? '' : ` Destination="${esc(o.destination ?? o.sp.acsUrl)}"`;
    const attrs = Object.entries(o.attributes ?? {})
      .map(
        ([k, v]) =>
          `<saml:Attribute Name="${esc(k)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${(Array.isArray(
            v,
          )
            ? v
            : [v]
          )
            .map(
              (x) =>
                `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${esc(x)}</saml:AttributeValue>`,
            )
            .join('')}</saml:Attribute>`,
      )
      .join('');
    const xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${at(0)}"${destination}${irt}>` +
      `<saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" Version="2.0" IssueInstant="${at(0)}"><saml:Issuer>${issuer}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${at(o.notOnOrAfterSeconds ?? 300)}" Recipient="${esc(o.recipient ?? o.sp.acsUrl)}"${scdIrt}/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${at(o.notBeforeSeconds ?? -5)}" NotOnOrAfter="${at(o.notOnOrAfterSeconds ?? 300)}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? o.sp.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${at(0)}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(o.authnContextClassRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport')}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
      `</saml:Assertion></samlp:Response>`;
    return { xml, responseId, assertionId };
  };

  const signXml: TestIdp['signXml'] = (xml, id, s = {}) => {
    const sig = new SignedXml({
      privateKey: s.keyPem ?? keyPem,
      publicCert: s.certPem ?? certPem,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    sig.addReference({
      xpath: `//*[@ID='${id}']`,
      transforms: [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
        'http://www.w3.org/2001/10/xml-exc-c14n#',
      ],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(xml, {
      prefix: 'ds',
      location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: 'after' },
    });
    return sig.getSignedXml();
  };

  const idpEntity = (encrypt: boolean) =>
    samlify.IdentityProvider({
      entityID: entityId,
      privateKey: keyPem,
      signingCert: certPem,
      singleSignOnService: [{ Binding: REDIRECT, Location: ssoUrl }],
      singleLogoutService: [{ Binding: REDIRECT, Location: ssoUrl }],
      isAssertionEncrypted: encrypt,
      requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    });

  return {
    config: { entityId, ssoUrl, certificates: [certPem], wantAuthnRequestsSigned: false },
    metadataXml: metadata(entityId, ssoUrl, [certPem]),
    keyPem,
    certPem,
    metadataWithExtraCerts: (certs) => metadata(entityId, ssoUrl, [certPem, ...certs]),
    raw,
    signXml,
    async signResponse(o) {
      const signAssertion = o.signAssertion ?? true;
      const signResponse = o.signResponse ?? false;
      const { xml, responseId } = raw(o);
      const sp = samlify.ServiceProvider({
        entityID: o.sp.entityId,
        assertionConsumerService: [{ Binding: POST, Location: o.sp.acsUrl }],
        wantAssertionsSigned: signAssertion,
        wantMessageSigned: signResponse,
        ...(o.sp.encryptionCert ? { encryptCert: o.sp.encryptionCert } : {}),
      });
      if (!signAssertion && !signResponse) return Buffer.from(xml).toString('base64');
      const r = await idpEntity(o.encrypt ?? false).createLoginResponse(
        sp,
        { extract: { request: { id: o.requestId ?? '' } } },
        'post',
        { email: o.nameId },
        {
          customTagReplacement: () => ({ id: responseId, context: xml }),
          encryptThenSign: signResponse && !!o.encrypt,
        },
      );
      return r.context;
    },
  };
}
