/**
 * What happens to a SAML message before anything reads it: decoded from base64 under a size cap, refused
 * when it carries a DOCTYPE (entity expansion, external entities), a comment or a processing instruction
 * (a comment splits a text node: "admin@evil.com<!---->.example.com" reads differently to different
 * parsers — the NameID truncation attack), then parsed strictly: any parser warning or error refuses it.
 */
import { DOMParser } from '@xmldom/xmldom';
import type { SamlFailure } from './types.js';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;

export class XmlRefused extends Error {
  constructor(readonly failure: SamlFailure) {
    super(failure.message);
  }
}

const refuse = (check: string, message: string): never => {
  throw new XmlRefused({ check, message });
};

/** base64 (the form field) → UTF-8 XML, capped before decoding (base64 is 4/3 of the bytes). */
export function decodeMessage(b64: string, maxBytes: number): string {
  if (b64.length > Math.ceil((maxBytes * 4) / 3) + 4)
    refuse('size', `The SAMLResponse is larger than ${Math.floor(maxBytes / 1024)} KiB`);
  const clean = b64.replace(/[\r\n\t ]/g, '');
  if (!clean || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean))
    refuse('encoding', 'The SAMLResponse is not base64 (the HTTP-POST binding sends it base64-encoded)');
  const bytes = Buffer.from(clean, 'base64');
  if (bytes.length > maxBytes)
    refuse('size', `The SAMLResponse is larger than ${Math.floor(maxBytes / 1024)} KiB`);
  const xml = bytes.toString('utf8');
  if (Buffer.byteLength(xml) !== bytes.length || xml.includes('\uFFFD'))
    refuse('encoding', 'The SAMLResponse is not UTF-8 XML');
  return xml;
}

/** Parses XML that may carry no DOCTYPE, comment or processing instruction (the XML declaration aside). */
export function parseStrict(xml: string): Document {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    refuse('doctype', 'The message contains a DOCTYPE (entity declarations are never accepted)');
  if (xml.includes('<!--'))
    refuse(
      'comment',
      'The message contains an XML comment; comments inside values are a known attack, so none are accepted',
    );
  const body = xml.replace(/^\uFEFF?\s*<\?xml\s[^?]*\?>/, '');
  if (body.includes('<?'))
    refuse('comment', 'The message contains a processing instruction; none are accepted');
  const problems: string[] = [];
  const parser = new DOMParser({
    errorHandler: (level: string, msg: unknown) => {
      problems.push(`${level}: ${String(msg)}`);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(xml, 'text/xml');
  } catch (err) {
    return refuse(
      'xml',
      `The message is not well-formed XML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (problems.length || !doc.documentElement)
    refuse('xml', `The message is not well-formed XML: ${problems[0] ?? 'no root element'}`);
  return doc;
}

/** Every element of `ns`/`local` anywhere in the document. */
export function all(doc: Document | Element, ns: string, local: string): Element[] {
  return Array.from(doc.getElementsByTagNameNS(ns, local) as unknown as ArrayLike<Element>);
}

/** Direct children of `el` with this name. */
export function children(el: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local)
      out.push(n as Element);
  return out;
}

export const child = (el: Element, ns: string, local: string): Element | undefined =>
  children(el, ns, local)[0];

/** The text of an element, refusing anything but text inside it (no child elements hiding a second value). */
export function text(el: Element | undefined): string | null {
  if (!el) return null;
  let out = '';
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 3 || n.nodeType === 4) out += n.nodeValue ?? '';
    else return null;
  }
  return out.trim();
}
