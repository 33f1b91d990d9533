/**
 * The SAML engine against real signed responses (samlify as the IdP) and the attack shapes of the issue:
 * each one refused with the check that names it. Pure: no database.
 */
import assert from 'node:assert/strict';
import { createVerify } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import {
  buildAuthnRequest,
  buildSpMetadata,
  explainSamlResponse,
  generateSpKeyPair,
  parseIdpMetadata,
  SamlRefused,
  type SpConfig,
  type ValidateOptions,
  validateSamlResponse,
} from '../../src/core/sso/saml/index.js';
import { createTestIdp, encryptAssertion, type ResponseOptions, type TestIdp } from '../helpers/saml-idp.js';

const REQ = '_request-1';
const b64 = (xml: string) => Buffer.from(xml).toString('base64');

describe('SAML response validation', () => {
  let idp: TestIdp;
  let other: TestIdp;
  let sp: SpConfig;
  let otherSpKey: string;

  before(async () => {
    idp = await createTestIdp();
    other = await createTestIdp({ entityId: 'https://attacker.test/saml' });
    const k = await generateSpKeyPair('sp');
    otherSpKey = (await generateSpKeyPair('other-sp')).privateKeyPem;
    sp = {
      entityId: 'https://janua.test/api/v1/sso/metadata/c1',
      acsUrl: 'https://janua.test/api/v1/sso/acs/c1',
      decryptionKeys: [k.privateKeyPem],
      signingKey: k.privateKeyPem,
      signingCert: k.certificatePem,
    };
  });

  const opts = (samlResponse: string, over: Partial<ValidateOptions> = {}): ValidateOptions => ({
    samlResponse,
    sp,
    idp: idp.config,
    expectedRequestId: REQ,
    now: new Date(),
    skewSeconds: 120,
    maxBytes: 256 * 1024,
    ...over,
  });
  const response = (over: Partial<ResponseOptions> = {}) =>
    idp.signResponse({
      sp: { ...sp, encryptionCert: sp.signingCert },
      requestId: REQ,
      nameId: 'jane@acme.test',
      attributes: { email: 'jane@acme.test' },
      ...over,
    });

  /** Asserts refusal with `check` among the failures (and nothing read). */
  async function refused(
    samlResponse: string,
    check: string,
    over: Partial<ValidateOptions> = {},
  ): Promise<void> {
    await assert.rejects(validateSamlResponse(opts(samlResponse, over)), (err: unknown) => {
      assert.ok(err instanceof SamlRefused, String(err));
      assert.ok(
        err.failures.some((f) => f.check === check),
        `expected a "${check}" failure, got ${JSON.stringify(err.failures)}`,
      );
      return true;
    });
  }

  test('signed responses pass: assertion signed, response signed, both, encrypted', async () => {
    for (const [o, signed] of [
      [{}, 'assertion'],
      [{ signResponse: true, signAssertion: false }, 'response'],
      [{ signResponse: true }, 'both'],
      [{ encrypt: true }, 'assertion'],
      [{ encrypt: true, signResponse: true }, 'both'],
    ] as const) {
      const a = await validateSamlResponse(
        opts(await response({ ...o, attributes: { email: 'jane@acme.test', groups: ['a', 'b'] } })),
      );
      assert.equal(a.nameId, 'jane@acme.test');
      assert.equal(a.signedElement, signed, JSON.stringify(o));
      assert.deepEqual(a.attributes.groups, ['a', 'b']);
      assert.equal(a.inResponseTo, REQ);
      assert.equal(a.encrypted, !!('encrypt' in o && o.encrypt));
      assert.ok(a.replayUntil.getTime() > Date.now());
    }
  });

  test('unsigned, signed by another key, another key with our certificate in KeyInfo, tampered after signing', async () => {
    const raw = idp.raw({ sp, requestId: REQ, nameId: 'jane@acme.test' });
    await refused(b64(raw.xml), 'signature');
    await refused(b64(other.signXml(raw.xml, raw.assertionId)), 'signature');
    const claimed = other.signXml(raw.xml, raw.assertionId, { keyPem: other.keyPem, certPem: idp.certPem });
    assert.ok(
      claimed.includes(
        idp.certPem
          .replace(/-----[^-]+-----/g, '')
          .replace(/\s+/g, '')
          .slice(0, 40),
      ),
      'KeyInfo claims the IdP cert',
    );
    await refused(b64(claimed), 'signature');
    const signed = idp.signXml(raw.xml, raw.assertionId);
    assert.ok((await validateSamlResponse(opts(b64(signed)))).nameId);
    await refused(b64(signed.replace('jane@acme.test', 'admin@acme.test')), 'signature');
  });

  test('signature wrapping (XSW1–XSW8 shapes) is refused', async () => {
    const raw = idp.raw({ sp, requestId: REQ, nameId: 'jane@acme.test' });
    const signedAssertion = idp.signXml(raw.xml, raw.assertionId);
    const signedResponse = idp.signXml(raw.xml, raw.responseId);
    const assertionOf = (xml: string) => /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)?.[0] as string;
    const evil = assertionOf(raw.xml)
      .replace('jane@acme.test', 'admin@acme.test')
      .replace(raw.assertionId, '_evil');
    const shapes: Array<[string, string, string]> = [
      // XSW1/2: a signed Response wrapped inside a new one (in Extensions), with an evil assertion outside.
      [
        'XSW1',
        signedResponse.replace(
          /<samlp:Response [^>]*>/,
          (m) =>
            `${m.replace(raw.responseId, '_evilresp')}<samlp:Extensions>${signedResponse.replace(/^<\?xml[^>]*>/, '')}</samlp:Extensions>`,
        ),
        'structure',
      ],
      // XSW3: an evil assertion inserted before the signed one.
      ['XSW3', signedAssertion.replace('<saml:Assertion', `${evil}<saml:Assertion`), 'structure'],
      // XSW4: the signed assertion moved inside the evil one.
      [
        'XSW4',
        signedAssertion.replace(
          assertionOf(signedAssertion),
          evil.replace('</saml:Assertion>', `${assertionOf(signedAssertion)}</saml:Assertion>`),
        ),
        'structure',
      ],
      // XSW5: the evil assertion carries the signature copied from the signed one; the signed one is gone.
      [
        'XSW5',
        signedAssertion.replace(
          assertionOf(signedAssertion),
          evil.replace(
            '</saml:Issuer>',
            `</saml:Issuer>${/<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signedAssertion)?.[0]}`,
          ),
        ),
        'signature',
      ],
      // XSW6/7: the signed assertion hidden in the signature's Object / in Extensions, the evil one in place.
      [
        'XSW6',
        signedAssertion
          .replace(assertionOf(signedAssertion), evil)
          .replace(
            '</samlp:Status>',
            `</samlp:Status><samlp:Extensions>${assertionOf(signedAssertion)}</samlp:Extensions>`,
          ),
        'structure',
      ],
      [
        'XSW7',
        signedAssertion.replace(
          assertionOf(signedAssertion),
          evil.replace(
            '</saml:Issuer>',
            `</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>${assertionOf(signedAssertion)}</ds:Object></ds:Signature>`,
          ),
        ),
        'structure',
      ],
      // XSW8: two assertions with the same ID, the evil one first.
      [
        'XSW8',
        signedAssertion.replace(
          '<saml:Assertion',
          `${evil.replace('_evil', raw.assertionId)}<saml:Assertion`,
        ),
        'structure',
      ],
    ];
    for (const [name, xml, check] of shapes) {
      await assert.rejects(
        validateSamlResponse(opts(b64(xml))),
        (err: unknown) => {
          assert.ok(err instanceof SamlRefused, `${name}: ${String(err)}`);
          assert.ok(
            err.failures.some((f) => f.check === check || f.check === 'structure' || f.check === 'signature'),
            `${name}: ${JSON.stringify(err.failures)}`,
          );
          return true;
        },
        name,
      );
    }
  });

  test('comments in the NameID or the email attribute, DOCTYPE, entity expansion, external entities', async () => {
    for (const [nameId, email] of [
      ['admin@acme.test<!---->.evil.test', 'x@acme.test'],
      ['jane@acme.test', 'admin@acme.test<!-- -->.evil.test'],
    ]) {
      const raw = idp.raw({
        sp,
        requestId: REQ,
        nameId: 'PLACEHOLDER',
        attributes: { email: 'EMAILPLACEHOLDER' },
      });
      const xml = raw.xml
        .replace('PLACEHOLDER', nameId as string)
        .replace('EMAILPLACEHOLDER', email as string);
      await refused(b64(idp.signXml(xml, raw.assertionId)), 'comment');
    }
    const raw = idp.raw({ sp, requestId: REQ, nameId: 'jane@acme.test' });
    const signed = idp.signXml(raw.xml, raw.assertionId);
    const laughs = `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`;
    await refused(b64(laughs + signed.replace('jane@acme.test', '&c;')), 'doctype');
    await refused(
      b64(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${signed.replace('jane@acme.test', '&x;')}`),
      'doctype',
    );
    await refused(b64(`<?xml-stylesheet href="x"?>${signed}`), 'comment');
  });

  test('a signed response that breaks the SAML schema is refused by the XSD validator', async () => {
    const raw = idp.raw({ sp, requestId: REQ, nameId: 'jane@acme.test' });
    const broken = raw.xml.replace('<samlp:Status>', '<samlp:Bogus/><samlp:Status>');
    await refused(b64(idp.signXml(broken, raw.responseId)), 'schema');
  });

  test('oversized responses are refused before parsing, signed or not', async () => {
    const pad = { pad: 'x'.repeat(300 * 1024) };
    await refused(await response({ attributes: pad }), 'size');
    await refused(b64(idp.raw({ sp, requestId: REQ, nameId: 'a@b.c', attributes: pad }).xml), 'size');
    await refused('!!!not-base64!!!', 'encoding');
    await refused(b64('<not-saml/>'), 'structure');
    await refused(b64('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"'), 'xml');
  });

  test('wrong audience, destination, recipient, issuer; a non-success status', async () => {
    await refused(await response({ audience: 'https://other-sp.test' }), 'audience');
    await refused(await response({ destination: 'https://other-sp.test/acs' }), 'destination');
    await refused(await response({ signResponse: true, destination: null }), 'destination');
    await refused(await response({ recipient: 'https://other-sp.test/acs' }), 'recipient');
    await refused(await response({ issuer: 'https://attacker.test/saml' }), 'issuer');
    await refused(await response({ status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }), 'status');
  });

  test('expired, not yet valid (with the skew), and an expired subject confirmation', async () => {
    const past = new Date(Date.now() - 3600_000);
    await refused(await response({ now: past }), 'time');
    await refused(await response({ notBeforeSeconds: 600 }), 'time');
    await refused(await response({ notOnOrAfterSeconds: -200 }), 'time');
    // Within the skew: 60 s late is still fine with 120 s allowed, refused with 30.
    const late = await response({ notOnOrAfterSeconds: -60 });
    assert.ok(await validateSamlResponse(opts(late)));
    await refused(late, 'time', { skewSeconds: 30 });
  });

  test('InResponseTo: unknown, missing, unsolicited, differing between Response and assertion', async () => {
    await refused(await response({ requestId: '_someone-else' }), 'in_response_to');
    await refused(await response({ requestId: null }), 'in_response_to');
    await refused(await response(), 'in_response_to', { expectedRequestId: null });
    await refused(await response({ subjectRequestId: '_other' }), 'in_response_to');
    const unsolicited = await response({ requestId: null });
    assert.ok(await validateSamlResponse(opts(unsolicited, { expectedRequestId: null })));
  });

  test('encrypted but unsigned, encrypted and signed by another key, encrypted to another SP', async () => {
    const raw = idp.raw({ sp, requestId: REQ, nameId: 'jane@acme.test' });
    await refused(b64(await encryptAssertion(raw.xml, sp.signingCert)), 'signature');
    await refused(
      await other.signResponse({
        sp: { ...sp, encryptionCert: sp.signingCert },
        requestId: REQ,
        nameId: 'jane@acme.test',
        issuer: idp.config.entityId,
        encrypt: true,
      }),
      'signature',
    );
    await refused(await response({ encrypt: true }), 'decryption', {
      sp: { ...sp, decryptionKeys: [otherSpKey] },
    });
    // After an SP key rotation the previous key still opens.
    const a = await validateSamlResponse(
      opts(await response({ encrypt: true }), {
        sp: { ...sp, decryptionKeys: [otherSpKey, ...sp.decryptionKeys] },
      }),
    );
    assert.equal(a.encrypted, true);
  });

  test('explain mode collects every failed check in words', async () => {
    const r = await explainSamlResponse(
      opts(await response({ audience: 'https://x.test', recipient: 'https://y.test/acs', requestId: '_z' })),
    );
    assert.equal(r.ok, false);
    const checks = r.failures.map((f) => f.check);
    for (const c of ['audience', 'recipient', 'in_response_to'])
      assert.ok(checks.includes(c), JSON.stringify(r.failures));
    assert.match(r.failures.find((f) => f.check === 'audience')?.message ?? '', /SP entity ID/);
  });

  test('IdP metadata with two signing certificates: a response signed by either verifies (roll-over)', async () => {
    const next = await createTestIdp({ entityId: idp.config.entityId });
    const md = parseIdpMetadata(idp.metadataWithExtraCerts([next.certPem]));
    assert.equal(md.certificates.length, 2);
    assert.equal(md.entityId, idp.config.entityId);
    assert.ok(md.ssoRedirectUrl);
    const config = { ...idp.config, certificates: md.certificates };
    for (const signer of [idp, next]) {
      const r = await signer.signResponse({ sp, requestId: REQ, nameId: 'jane@acme.test' });
      assert.ok(await validateSamlResponse(opts(r, { idp: config })));
    }
    assert.throws(() => parseIdpMetadata('<!DOCTYPE x><x/>'), /DOCTYPE/);
    assert.throws(
      () =>
        parseIdpMetadata(
          '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
        ),
      /IDPSSODescriptor/,
    );
  });

  test('AuthnRequest (Redirect binding): our ACS, entity id and a signature that verifies with our certificate; SP metadata', () => {
    const r = buildAuthnRequest(sp, idp.config, 'relay-1');
    const u = new URL(r.url);
    assert.equal(`${u.origin}${u.pathname}`, idp.config.ssoUrl);
    assert.equal(u.searchParams.get('RelayState'), 'relay-1');
    const xml = inflateRawSync(Buffer.from(u.searchParams.get('SAMLRequest') as string, 'base64')).toString();
    assert.ok(xml.includes(`ID="${r.id}"`));
    assert.ok(
      xml.includes(sp.acsUrl) &&
        xml.includes(sp.entityId) &&
        xml.includes(`Destination="${idp.config.ssoUrl}"`),
      xml,
    );
    assert.match(r.id, /^_[0-9a-f-]{20,}/);
    // SAML bindings §3.4.4.1: the signature covers SAMLRequest, RelayState and SigAlg as they appear in the URL.
    const raw = r.url.split('?')[1] as string;
    const signed = raw
      .split('&')
      .filter((p) => !p.startsWith('Signature='))
      .join('&');
    const ok = createVerify('RSA-SHA256')
      .update(signed)
      .verify(sp.signingCert, u.searchParams.get('Signature') as string, 'base64');
    assert.ok(ok, 'the AuthnRequest signature verifies with the SP certificate');
    const md = buildSpMetadata(sp);
    assert.ok(
      md.includes(`entityID="${sp.entityId}"`) &&
        md.includes(sp.acsUrl) &&
        md.includes('AuthnRequestsSigned="true"'),
    );
  });
});
