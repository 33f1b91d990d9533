/**
 * Enveloped XML signatures on a SAML Response or Assertion, verified with the connection's certificates only
 * (xml-crypto with `getCertFromKeyInfo` answering nothing: a certificate or key inside the message is never
 * used, so "signed by another key, with the IdP's certificate pasted into KeyInfo" fails).
 *
 * Signature wrapping (XSW) is closed by shape, not by trust in the library's lookup: the signature must be a
 * direct child of the element it signs, have exactly one Reference whose URI is `#` + that element's own ID,
 * and the document holds no duplicate IDs (the caller checks) — so the element verified is the element read.
 * Transforms are limited to enveloped-signature and (exclusive) canonicalization without comments.
 */
import { SignedXml } from 'xml-crypto';
import { children, NS } from './xml.js';

const ALLOWED_TRANSFORMS = new Set([
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
]);
/** RSA with SHA-256/512; SHA-1 is still what some ADFS and Shibboleth setups sign with, so it is accepted. */
const ALLOWED_SIGNATURES = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
]);

export type SignatureOutcome =
  | { signed: false }
  | { signed: true; valid: true }
  | { signed: true; valid: false; reason: string };

export function toPem(cert: string): string {
  if (cert.includes('BEGIN CERTIFICATE')) return cert;
  const body = cert.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Verifies the signature that is a direct child of `el` (if any) over the document text `xml`. */
export function verifyEnveloped(
  xml: string,
  el: Element,
  certs: readonly string[],
  what: string,
): SignatureOutcome {
  const sigs = children(el, NS.dsig, 'Signature');
  if (sigs.length === 0) return { signed: false };
  const bad = (reason: string): SignatureOutcome => ({ signed: true, valid: false, reason });
  if (sigs.length > 1) return bad(`The ${what} carries more than one signature`);
  const sig = sigs[0] as Element;
  const id = el.getAttribute('ID');
  if (!id) return bad(`The signed ${what} has no ID`);
  const signedInfo = children(sig, NS.dsig, 'SignedInfo')[0];
  const refs = signedInfo ? children(signedInfo, NS.dsig, 'Reference') : [];
  if (refs.length !== 1) return bad(`The ${what}'s signature must have exactly one Reference`);
  const ref = refs[0] as Element;
  if (ref.getAttribute('URI') !== `#${id}`)
    return bad(
      `The ${what}'s signature references "${ref.getAttribute('URI')}", not the ${what} itself (#${id})`,
    );
  const method = signedInfo
    ? children(signedInfo, NS.dsig, 'SignatureMethod')[0]?.getAttribute('Algorithm')
    : null;
  if (!method || !ALLOWED_SIGNATURES.has(method))
    return bad(`The ${what} is signed with an algorithm not accepted (${method})`);
  const transforms = children(ref, NS.dsig, 'Transforms')[0];
  for (const t of transforms ? children(transforms, NS.dsig, 'Transform') : [])
    if (!ALLOWED_TRANSFORMS.has(t.getAttribute('Algorithm') ?? ''))
      return bad(
        `The ${what}'s signature uses a transform that is not accepted (${t.getAttribute('Algorithm')})`,
      );
  if (!certs.length) return bad('The connection has no IdP signing certificate');
  for (const cert of certs) {
    const sx = new SignedXml({ publicCert: toPem(cert), getCertFromKeyInfo: () => null });
    try {
      sx.loadSignature(sig);
      if (sx.checkSignature(xml) && sx.getSignedReferences().length === 1)
        return { signed: true, valid: true };
    } catch {
      // a broken signature or digest with this certificate: try the next one
    }
  }
  return bad(
    `The ${what}'s signature does not verify with the IdP certificate${certs.length > 1 ? 's' : ''} configured for this connection (signed by another key, or changed after signing)`,
  );
}
