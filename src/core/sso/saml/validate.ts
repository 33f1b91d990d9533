/**
 * Validation of a SAMLResponse for the Web Browser SSO profile (SAML profiles §4.1.4.3), strictly: every
 * rule below must hold, and what the flow reads (NameID, attributes) comes from the element whose signature
 * was verified. samlify leaves most of these to its caller (audience, destination, recipient, subject
 * confirmation expiry, InResponseTo, size, enforcing a signature at all), so they are all here.
 *
 * Order: size and encoding; DOCTYPE, comments, well-formedness; structure (one Response, one assertion,
 * unique IDs); signatures with the configured certificates; decryption (the decrypted assertion gets the same
 * treatment); the XSD schema (after the signature, so that only messages the IdP signed cost a schema run);
 * then status, issuer, destination, conditions and audience, subject confirmation, InResponseTo.
 */
import { decrypt } from '@authenio/xml-encryption';
import { schemaErrors } from './schema.js';
import { verifyEnveloped } from './signature.js';
import { type SamlFailure, SamlRefused, type ValidatedAssertion, type ValidateOptions } from './types.js';
import { all, child, children, decodeMessage, NS, parseStrict, text, XmlRefused } from './xml.js';

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

class Stop extends Error {}

function uniqueIds(doc: Document, failures: SamlFailure[]): void {
  const seen = new Set<string>();
  for (const el of all(doc, '*', '*')) {
    for (const name of ['ID', 'Id', 'id']) {
      const v = el.getAttribute(name);
      if (!v) continue;
      if (seen.has(v)) {
        failures.push({
          check: 'structure',
          message: `Two elements carry the ID "${v}" (a signature-wrapping shape)`,
        });
        throw new Stop();
      }
      seen.add(v);
    }
  }
}

function decryptAssertion(encrypted: Element, keys: readonly string[]): Promise<string> {
  const data = child(encrypted, NS.xenc, 'EncryptedData');
  if (!data) return Promise.reject(new Error('no EncryptedData'));
  const xml = encrypted.toString();
  const attempt = (i: number): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      decrypt(
        xml,
        {
          key: keys[i] as string,
          disallowDecryptionWithInsecureAlgorithm: true,
          warnInsecureAlgorithm: false,
        },
        (err, out) =>
          err || typeof out !== 'string' ? reject(err ?? new Error('nothing decrypted')) : resolve(out),
      );
    }).catch((err: unknown) => (i + 1 < keys.length ? attempt(i + 1) : Promise.reject(err)));
  return keys.length ? attempt(0) : Promise.reject(new Error('no SP decryption key'));
}

const time = (v: string | null): Date | null => {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

interface Run {
  failures: SamlFailure[];
  assertion?: ValidatedAssertion;
}

async function run(o: ValidateOptions): Promise<Run> {
  const failures: SamlFailure[] = [];
  const fail = (check: string, message: string) => failures.push({ check, message });
  const stop = (check: string, message: string): never => {
    fail(check, message);
    throw new Stop();
  };
  try {
    const xml = decodeMessage(o.samlResponse, o.maxBytes);
    const doc = parseStrict(xml);
    const root = doc.documentElement as Element;
    if (root.namespaceURI !== NS.protocol || root.localName !== 'Response')
      stop('structure', 'The message is not a SAML protocol Response');
    if (all(doc, NS.protocol, 'Response').length !== 1)
      stop('structure', 'The message holds more than one Response');
    const plain = all(doc, NS.assertion, 'Assertion');
    const sealed = all(doc, NS.assertion, 'EncryptedAssertion');
    if (plain.length + sealed.length !== 1)
      stop(
        'structure',
        `The Response must hold exactly one assertion; it holds ${plain.length + sealed.length}`,
      );
    const outer = (plain[0] ?? sealed[0]) as Element;
    if (outer.parentNode !== root) stop('structure', 'The assertion is not a direct child of the Response');
    uniqueIds(doc, failures);

    const certs = o.idp.certificates;
    const responseSig = verifyEnveloped(xml, root, certs, 'Response');
    if (responseSig.signed && !responseSig.valid) stop('signature', responseSig.reason);

    let assertion = outer;
    let assertionXml = xml;
    const encrypted = sealed.length === 1;
    if (encrypted) {
      try {
        assertionXml = await decryptAssertion(outer, o.sp.decryptionKeys);
      } catch {
        stop(
          'decryption',
          'The encrypted assertion does not open with this connection’s SP key (encrypted to another certificate?)',
        );
      }
      const inner = parseStrict(assertionXml);
      const el = inner.documentElement as Element;
      if (
        el.namespaceURI !== NS.assertion ||
        el.localName !== 'Assertion' ||
        all(inner, NS.assertion, 'Assertion').length !== 1
      )
        stop('structure', 'The encrypted assertion does not hold exactly one Assertion');
      uniqueIds(inner, failures);
      assertion = el;
    }
    const assertionSig = verifyEnveloped(assertionXml, assertion, certs, 'Assertion');
    if (assertionSig.signed && !assertionSig.valid) stop('signature', assertionSig.reason);
    if (!responseSig.signed && !assertionSig.signed)
      stop(
        'signature',
        encrypted
          ? 'The assertion is encrypted but neither it nor the Response is signed (encryption proves nothing about the sender)'
          : 'Neither the Response nor the Assertion is signed',
      );

    const schema = await schemaErrors(xml);
    if (encrypted && !schema.length) schema.push(...(await schemaErrors(assertionXml)));
    if (schema.length) stop('schema', `The message does not match the SAML 2.0 schema: ${schema[0]}`);

    const skew = o.skewSeconds * 1000;
    const now = o.now.getTime();
    const status = child(child(root, NS.protocol, 'Status') ?? root, NS.protocol, 'StatusCode')?.getAttribute(
      'Value',
    );
    if (status !== SUCCESS)
      fail(
        'status',
        `The IdP answered status ${status ?? '(none)'}, not Success: it did not sign the user in`,
      );

    const responseIssuer = text(child(root, NS.assertion, 'Issuer'));
    if (responseIssuer !== null && responseIssuer !== o.idp.entityId)
      fail(
        'issuer',
        `The Response's Issuer is "${responseIssuer}" but this connection's IdP entity ID is "${o.idp.entityId}"`,
      );
    const issuer = text(child(assertion, NS.assertion, 'Issuer'));
    if (issuer !== o.idp.entityId)
      fail(
        'issuer',
        `The assertion's Issuer is "${issuer ?? '(none)'}" but this connection's IdP entity ID is "${o.idp.entityId}"`,
      );

    const destination = root.getAttribute('Destination');
    if (destination ? destination !== o.sp.acsUrl : responseSig.signed)
      fail(
        'destination',
        `The Response's Destination is "${destination ?? '(none)'}" but it was posted to ${o.sp.acsUrl}`,
      );

    const conditions = child(assertion, NS.assertion, 'Conditions');
    const notBefore = time(conditions?.getAttribute('NotBefore') ?? null);
    const notOnOrAfter = time(conditions?.getAttribute('NotOnOrAfter') ?? null);
    if (notBefore && now + skew < notBefore.getTime())
      fail(
        'time',
        `The assertion is not valid before ${notBefore.toISOString()} (clock skew allowed: ${o.skewSeconds} s)`,
      );
    if (notOnOrAfter && now - skew >= notOnOrAfter.getTime())
      fail(
        'time',
        `The assertion expired at ${notOnOrAfter.toISOString()} (clock skew allowed: ${o.skewSeconds} s)`,
      );
    const restrictions = conditions ? children(conditions, NS.assertion, 'AudienceRestriction') : [];
    if (!restrictions.length)
      fail('audience', 'The assertion names no Audience; it must name this connection’s SP entity ID');
    for (const r of restrictions) {
      const audiences = children(r, NS.assertion, 'Audience').map((a) => text(a));
      if (!audiences.includes(o.sp.entityId))
        fail(
          'audience',
          `The assertion's Audience is ${audiences.map((a) => `"${a}"`).join(', ')} but this connection's SP entity ID is "${o.sp.entityId}"`,
        );
    }

    const subject = child(assertion, NS.assertion, 'Subject');
    const nameIdEl = subject ? child(subject, NS.assertion, 'NameID') : undefined;
    const nameId = text(nameIdEl);
    if (!nameId) fail('subject', 'The assertion has no NameID (or an empty one)');
    const responseIrt = root.getAttribute('InResponseTo') || null;
    let confirmedUntil: Date | null = null;
    const confirmationProblems: string[] = [];
    let scdIrt: string | null = null;
    for (const sc of subject ? children(subject, NS.assertion, 'SubjectConfirmation') : []) {
      if (sc.getAttribute('Method') !== BEARER) continue;
      const scd = child(sc, NS.assertion, 'SubjectConfirmationData');
      const recipient = scd?.getAttribute('Recipient') ?? null;
      const until = time(scd?.getAttribute('NotOnOrAfter') ?? null);
      scdIrt = scd?.getAttribute('InResponseTo') || null;
      if (recipient !== o.sp.acsUrl)
        confirmationProblems.push(
          `recipient:The subject confirmation's Recipient is "${recipient ?? '(none)'}" but the response was posted to ${o.sp.acsUrl}`,
        );
      else if (!until) confirmationProblems.push('time:The subject confirmation has no NotOnOrAfter');
      else if (now - skew >= until.getTime())
        confirmationProblems.push(`time:The subject confirmation expired at ${until.toISOString()}`);
      else if (scd?.getAttribute('NotBefore'))
        confirmationProblems.push(
          'time:A bearer subject confirmation must not carry NotBefore (SAML profiles §4.1.4.2)',
        );
      else {
        confirmedUntil = until;
        break;
      }
    }
    if (!confirmedUntil) {
      if (!confirmationProblems.length) fail('recipient', 'The assertion has no bearer SubjectConfirmation');
      for (const p of confirmationProblems) {
        const i = p.indexOf(':');
        fail(p.slice(0, i), p.slice(i + 1));
      }
    }

    if (o.expectedRequestId === null) {
      if (responseIrt || scdIrt)
        fail(
          'in_response_to',
          `The response answers request ${responseIrt ?? scdIrt}, which this sign-in did not start (unknown request)`,
        );
    } else {
      if (responseIrt !== null && responseIrt !== o.expectedRequestId)
        fail(
          'in_response_to',
          `The Response answers request ${responseIrt}, not the request of this sign-in`,
        );
      if (scdIrt !== o.expectedRequestId)
        fail(
          'in_response_to',
          scdIrt
            ? `The subject confirmation answers request ${scdIrt}, not the request of this sign-in`
            : 'The subject confirmation does not name the request it answers (InResponseTo)',
        );
    }

    const authn = child(assertion, NS.assertion, 'AuthnStatement');
    if (!authn) fail('subject', 'The assertion has no AuthnStatement (SAML profiles §4.1.4.2)');
    const classRef = authn
      ? text(child(child(authn, NS.assertion, 'AuthnContext') ?? authn, NS.assertion, 'AuthnContextClassRef'))
      : null;

    const attributes: Record<string, string[]> = {};
    for (const st of children(assertion, NS.assertion, 'AttributeStatement'))
      for (const a of children(st, NS.assertion, 'Attribute')) {
        const name = a.getAttribute('Name');
        if (!name) continue;
        const values = children(a, NS.assertion, 'AttributeValue')
          .map((v) => text(v))
          .filter((v): v is string => v !== null);
        attributes[name] = [...(attributes[name] ?? []), ...values];
      }

    if (failures.length) return { failures };
    const latest = Math.max(notOnOrAfter?.getTime() ?? 0, (confirmedUntil as Date | null)?.getTime() ?? 0);
    return {
      failures,
      assertion: {
        responseId: root.getAttribute('ID') ?? '',
        assertionId: assertion.getAttribute('ID') ?? '',
        issuer: issuer as string,
        nameId: nameId as string,
        nameIdFormat: nameIdEl?.getAttribute('Format') || null,
        sessionIndex: authn?.getAttribute('SessionIndex') || null,
        inResponseTo: responseIrt ?? scdIrt,
        replayUntil: new Date(latest + skew),
        attributes,
        authnContextClassRef: classRef,
        encrypted,
        signedElement:
          responseSig.signed && assertionSig.signed ? 'both' : responseSig.signed ? 'response' : 'assertion',
      },
    };
  } catch (err) {
    if (err instanceof Stop) return { failures };
    if (err instanceof XmlRefused) return { failures: [...failures, err.failure] };
    throw err;
  }
}

/** Validates a posted SAMLResponse; throws SamlRefused with every failed check. */
export async function validateSamlResponse(o: ValidateOptions): Promise<ValidatedAssertion> {
  const r = await run(o);
  if (r.failures.length || !r.assertion) throw new SamlRefused(r.failures);
  return r.assertion;
}

/**
 * The same checks, reported rather than thrown (`janua sso test --response`): every check that can still run
 * is run. Structural and signature failures stop the rest (nothing read from an unverified message is
 * trustworthy enough to judge), which the caller says.
 */
export async function explainSamlResponse(
  o: ValidateOptions,
): Promise<{ ok: boolean; failures: SamlFailure[]; assertion?: ValidatedAssertion }> {
  const r = await run(o);
  return {
    ok: r.failures.length === 0,
    failures: r.failures,
    ...(r.assertion ? { assertion: r.assertion } : {}),
  };
}
