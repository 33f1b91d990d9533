/**
 * SAML SSO end to end on the spawned binary, each dialect: IdP metadata by URL from a loopback server, the
 * browser's round trip over real HTTP (initiate → IdP → ACS → code → exchange → /auth/me), an IdP certificate
 * roll-over picked up by `janua cron run sso.metadata-refresh`, and a second, independent IdP implementation
 * (pysaml2 over xmlsec1) signing and encrypting its assertions to the connection's SP certificate.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { request } from 'undici';
import { generateSpKeyPair } from '../../src/core/sso/saml/keys.js';
import { dialects } from '../helpers/db.js';
import { runCli } from '../helpers/janua.js';
import { pysaml2Available, pysaml2Metadata, pysaml2Response } from '../helpers/pysaml2-idp.js';
import { createTestIdp, type TestIdp } from '../helpers/saml-idp.js';
import { AUTH, type Call, type E2e, e2eDaemon, signUp } from './support.js';

const APP = 'https://app.example.com/cb';

function requestIdOf(url: string): string {
  const q = new URL(url).searchParams.get('SAMLRequest') ?? '';
  const xml = inflateRawSync(Buffer.from(q, 'base64')).toString('utf8');
  return /\sID="([^"]+)"/.exec(xml)?.[1] ?? assert.fail(xml);
}

/** A loopback server answering the IdP metadata of the moment. */
async function metadataServer(
  initial: string,
): Promise<{ url: string; set(xml: string): void; close(): void; server: Server }> {
  let xml = initial;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
    res.end(xml);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/metadata`,
    set: (x) => {
      xml = x;
    },
    close: () => server.close(),
    server,
  };
}

for (const dialect of dialects()) {
  describe(`SAML SSO end to end (${dialect}, spawned daemon)`, () => {
    let f: E2e;
    e2eDaemon(
      dialect,
      { REDIRECT_ALLOWLIST: 'https://app.example.com', SSO_ALLOW_PRIVATE_METADATA_URLS: 'true' },
      (x) => {
        f = x;
      },
    );

    async function orgWithConnection(call: Call, body: Record<string, unknown>) {
      const owner = await signUp(call);
      const org = await call('POST', '/api/v1/organizations', {
        token: owner.access_token,
        body: { name: 'E2E', slug: `e2e-${Math.random().toString(36).slice(2, 10)}` },
      });
      assert.equal(org.status, 201, org.text);
      const slug = (org.body as { slug: string }).slug;
      const c = await call('POST', '/api/v1/sso/configurations', {
        token: owner.access_token,
        body: { organization_id: (org.body as { id: string }).id, ...body },
      });
      assert.equal(c.status, 201, c.text);
      return {
        owner,
        slug,
        conn: c.body as { id: string; saml_acs_url: string; sp_entity_id: string; sp_certificate: string },
      };
    }

    /** The browser: initiate (no redirect following), then post what the IdP made for that request. */
    async function signIn(slug: string, connId: string, sign: (requestId: string) => Promise<string>) {
      const init = await request(
        `${f.d.url}/api/v1/sso/initiate?org=${slug}&redirect_uri=${encodeURIComponent(APP)}&state=s1`,
      );
      await init.body.text();
      assert.equal(init.statusCode, 302);
      const location = String(init.headers.location);
      const cookie = String(init.headers['set-cookie']).split(';')[0] as string;
      const relayState = new URL(location).searchParams.get('RelayState') ?? '';
      const saml = await sign(requestIdOf(location));
      const acs = await request(`${f.d.url}/api/v1/sso/acs/${connId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ SAMLResponse: saml, RelayState: relayState }).toString(),
      });
      const text = await acs.body.text();
      return { status: acs.statusCode, location: String(acs.headers.location ?? ''), text };
    }

    async function exchange(location: string) {
      const code = new URL(location).searchParams.get('code');
      const ex = await f.call('POST', `${AUTH}/exchange`, { body: { code, redirect_uri: APP } });
      assert.equal(ex.status, 200, ex.text);
      const token = (ex.body as { access_token: string }).access_token;
      const me = await f.call('GET', `${AUTH}/me`, { token });
      assert.equal(me.status, 200, me.text);
      return me.body as { email: string };
    }

    test('metadata by URL, a sign-in over HTTP, and an IdP certificate roll-over', async () => {
      const idpA: TestIdp = await createTestIdp({ entityId: 'https://idp.e2e.test/saml' });
      const idpB: TestIdp = await createTestIdp({ entityId: 'https://idp.e2e.test/saml' });
      const md = await metadataServer(idpA.metadataXml);
      try {
        const { slug, conn } = await orgWithConnection(f.call, { saml_metadata_url: md.url });
        const sp = { entityId: conn.sp_entity_id, acsUrl: conn.saml_acs_url };
        const email = `e2e-${dialect}@idp.e2e.test`;
        const ok = await signIn(slug, conn.id, (id) =>
          idpA.signResponse({ sp, requestId: id, nameId: email }),
        );
        assert.equal(ok.status, 302, ok.text);
        assert.equal((await exchange(ok.location)).email, email);
        // The IdP starts signing with a new key it already publishes beside the old one.
        const refused = await signIn(slug, conn.id, (id) =>
          idpB.signResponse({ sp, requestId: id, nameId: email }),
        );
        assert.equal(refused.status, 401, 'the new key is not trusted before the metadata says so');
        md.set(idpA.metadataWithExtraCerts(idpB.config.certificates));
        const run = await runCli(['cron', 'run', 'sso.metadata-refresh'], { env: f.d.env });
        assert.equal(run.code, 0, run.stderr);
        const rolled = await signIn(slug, conn.id, (id) =>
          idpB.signResponse({ sp, requestId: id, nameId: email }),
        );
        assert.equal(rolled.status, 302, rolled.text);
        const old = await signIn(slug, conn.id, (id) =>
          idpA.signResponse({ sp, requestId: id, nameId: email }),
        );
        assert.equal(old.status, 302, 'both certificates verify during the roll-over');
      } finally {
        md.close();
      }
    });

    test('a second IdP implementation (pysaml2 + xmlsec1) reading our SP metadata: signed, and signed + encrypted', {
      skip: !pysaml2Available() && 'python3-pysaml2 / xmlsec1 not installed',
    }, async () => {
      const keys = await generateSpKeyPair('pysaml2 IdP');
      const idp = {
        entityId: 'https://pysaml2.e2e.test/idp',
        ssoUrl: 'https://pysaml2.e2e.test/sso',
        keyPem: keys.privateKeyPem,
        certPem: keys.certificatePem,
      };
      const { slug, conn } = await orgWithConnection(f.call, {
        saml_metadata_xml: await pysaml2Metadata(idp),
        attribute_mapping: { email: 'urn:mace:dir:attribute-def:email' },
      });
      const md = await request(`${f.d.url}/api/v1/sso/metadata/${conn.id}`);
      const spMetadataXml = await md.body.text();
      assert.equal(md.statusCode, 200);
      const email = `py-${dialect}@pysaml2.e2e.test`;
      for (const encryptAssertion of [false, true]) {
        const r = await signIn(slug, conn.id, (id) =>
          pysaml2Response(idp, {
            spMetadataXml,
            spEntityId: conn.sp_entity_id,
            acsUrl: conn.saml_acs_url,
            inResponseTo: id,
            nameId: email,
            attributes: { email: [email] },
            encryptAssertion,
          }),
        );
        assert.equal(r.status, 302, `${encryptAssertion ? 'encrypted' : 'signed'}: ${r.text}`);
        assert.equal((await exchange(r.location)).email, email);
      }
    });
  });
}
