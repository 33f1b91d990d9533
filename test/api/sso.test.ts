/**
 * SAML SSO over the API (fastify inject), both dialects, with samlify as the IdP: configurations (ours and the
 * original SDK's spellings), SP metadata, the whole sign-in (initiate → IdP → ACS → code → exchange) with JIT
 * provisioning and group → role mapping, linking, discovery by verified domain, IdP-initiated sign-in, and
 * the flow-level refusals (replay, another browser, unsolicited, wrong audience, an account outside the
 * organization, oversized) — each audited with its reason, with no session made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { type TestApp, testApp } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { call, makeUser, type TestUser } from '../helpers/orgs.js';
import { bare, createTestIdp, type TestIdp } from '../helpers/saml-idp.js';

const APP = 'https://app.example.com/sso/callback';
const BASE = 'http://janua.test';

/** The AuthnRequest ID inside a Redirect-binding URL (SAML bindings §3.4.4.1: deflate + base64). */
function requestIdOf(url: string): string {
  const q = new URL(url).searchParams.get('SAMLRequest');
  assert.ok(q, 'the IdP URL carries a SAMLRequest');
  const xml = inflateRawSync(Buffer.from(q, 'base64')).toString('utf8');
  const id = /\sID="([^"]+)"/.exec(xml)?.[1];
  assert.ok(id, xml);
  return id;
}

const cookieOf = (setCookie: string | string[] | undefined) => {
  const v = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  assert.ok(v, 'a binding cookie is set');
  return v.split(';')[0] as string;
};

for (const dialect of dialects()) {
  describe(`SAML SSO API (${dialect})`, () => {
    let t: TestApp;
    let owner: TestUser;
    let member: TestUser;
    let outsider: TestUser;
    let idp: TestIdp;
    let org: { id: string; slug: string };
    let conn: { id: string; saml_acs_url: string; sp_entity_id: string };
    let seq = 0;

    before(async () => {
      t = await testApp(dialect, { REDIRECT_ALLOWLIST: 'https://app.example.com', JANUA_BASE_URL: BASE });
      owner = await makeUser(t, 'owner');
      member = await makeUser(t, 'member');
      outsider = await makeUser(t, 'outsider');
      idp = await createTestIdp();
      const o = await call(t, 'POST', '/api/v1/organizations', {
        token: owner.token,
        body: { name: 'Acme', slug: `acme-sso-${Date.now().toString(36)}` },
      });
      assert.equal(o.statusCode, 201, o.body);
      org = o.data;
      await call(t, 'POST', `/api/v1/organizations/${org.id}/members`, {
        token: owner.token,
        body: { email: member.email, role: 'member' },
      });
      const c = await call(t, 'POST', '/api/v1/sso/configurations', {
        token: owner.token,
        body: {
          organization_id: org.id,
          provider: 'okta',
          saml_metadata_xml: idp.metadataXml,
          attribute_mapping: {
            email: 'email',
            first_name: 'firstName',
            last_name: 'lastName',
            groups: 'groups',
          },
          group_roles: { 'acme-admins': 'admin' },
          default_role: 'member',
        },
      });
      assert.equal(c.statusCode, 201, c.body);
      conn = c.data;
    });
    after(async () => t?.close());

    /** initiate → the IdP signs for that request → what the browser posts back. */
    async function startSignIn(opts: { cookie?: string; state?: string } = {}) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/v1/sso/initiate?org=${org.slug}&redirect_uri=${encodeURIComponent(APP)}&state=${opts.state ?? 'st-1'}`,
        headers: opts.cookie ? { cookie: opts.cookie } : {},
      });
      assert.equal(res.statusCode, 302, res.body);
      const location = String(res.headers.location);
      assert.ok(location.startsWith(idp.config.ssoUrl), location);
      const relayState = new URL(location).searchParams.get('RelayState') ?? '';
      return {
        requestId: requestIdOf(location),
        relayState,
        cookie: opts.cookie ?? cookieOf(res.headers['set-cookie']),
      };
    }

    async function post(
      samlResponse: string,
      relayState: string,
      cookie: string | undefined,
      path = `/api/v1/sso/acs/${conn.id}`,
    ) {
      // One second per post, so each refusal's audit row is the newest (the test clock stands still otherwise).
      t.clock.advance(1000);
      return t.app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
        payload: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }).toString(),
      });
    }

    const sp = () => ({ entityId: conn.sp_entity_id, acsUrl: conn.saml_acs_url });

    async function lastRefusal(): Promise<Record<string, unknown>> {
      const row = await t.c.store.db
        .selectFrom('audit_events')
        .select(['metadata', 'outcome'])
        .where('action', '=', 'sso.signin')
        .where('outcome', '=', 'failure')
        .orderBy('occurred_at', 'desc')
        .executeTakeFirstOrThrow();
      return typeof row.metadata === 'string'
        ? JSON.parse(row.metadata)
        : (row.metadata as Record<string, unknown>);
    }

    const sessionCount = async () =>
      Number(
        (
          await t.c.store.db
            .selectFrom('sessions')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    test('the configuration object, by id and by organization id (SDK), and our SP metadata', async () => {
      const byId = await call(t, 'GET', `/api/v1/sso/configurations/${conn.id}`, { token: owner.token });
      assert.equal(byId.statusCode, 200);
      for (const k of [
        'id',
        'organization_id',
        'provider',
        'status',
        'enabled',
        'saml_entity_id',
        'saml_acs_url',
        'saml_sso_url',
      ])
        assert.ok(k in byId.data, k);
      assert.equal(byId.data.status, 'active');
      assert.equal(byId.data.saml_entity_id, idp.config.entityId);
      assert.equal(byId.data.saml_acs_url, `${BASE}/api/v1/sso/acs/${conn.id}`);
      assert.ok(!JSON.stringify(byId.data).includes('PRIVATE KEY'), 'no private key leaves');
      const byOrg = await call(t, 'GET', `/api/v1/sso/configurations/${org.id}`, { token: owner.token });
      assert.equal(byOrg.data.id, conn.id);
      const md = await t.app.inject({ method: 'GET', url: `/api/v1/sso/metadata/${org.id}` });
      assert.equal(md.statusCode, 200);
      assert.match(String(md.headers['content-type']), /samlmetadata\+xml/);
      assert.ok(md.body.includes(`entityID="${conn.sp_entity_id}"`), md.body);
      assert.ok(md.body.includes(conn.saml_acs_url));
      // Only organization admins: a member is refused, an outsider learns nothing.
      assert.equal(
        (await call(t, 'GET', `/api/v1/sso/configurations/${conn.id}`, { token: member.token })).statusCode,
        403,
      );
      assert.equal(
        (await call(t, 'GET', `/api/v1/sso/configurations/${conn.id}`, { token: outsider.token })).statusCode,
        404,
      );
    });

    test('SP-initiated sign-in: JIT provisioning with the mapped role, code → tokens, audited', async () => {
      const email = `jane${++seq}@acme-idp.test`;
      const s = await startSignIn({ state: 'xyz' });
      const resp = await idp.signResponse({
        sp: sp(),
        requestId: s.requestId,
        nameId: email,
        attributes: { email, firstName: 'Jane', lastName: 'Doe', groups: ['acme-admins', 'staff'] },
      });
      const acs = await post(resp, s.relayState, s.cookie);
      assert.equal(acs.statusCode, 302, acs.body);
      const back = new URL(String(acs.headers.location));
      assert.equal(`${back.origin}${back.pathname}`, APP);
      assert.equal(back.searchParams.get('state'), 'xyz');
      const codeValue = back.searchParams.get('code');
      assert.ok(codeValue);
      assert.ok(!back.href.includes('access_token'), 'never tokens in a URL');
      const ex = await call(t, 'POST', '/api/v1/auth/exchange', {
        body: { code: codeValue, redirect_uri: APP },
      });
      assert.equal(ex.statusCode, 200, ex.body);
      assert.ok(ex.data.access_token && ex.data.tokens.refresh_token);
      assert.equal(ex.data.user.email, email);
      assert.equal(ex.data.user.first_name, 'Jane');
      const again = await call(t, 'POST', '/api/v1/auth/exchange', {
        body: { code: codeValue, redirect_uri: APP },
      });
      assert.equal(again.statusCode, 401);
      assert.equal(again.data.error_code, 'TOKEN_ERROR');
      const role = await t.c.store.db
        .selectFrom('organization_members')
        .select('role')
        .where('organization_id', '=', org.id)
        .where('user_id', '=', ex.data.user.id)
        .executeTakeFirstOrThrow();
      assert.equal(role.role, 'admin', 'acme-admins → admin');
      const events = await t.c.store.db
        .selectFrom('outbox')
        .select('event_type')
        .where('event_type', '=', 'sso.signin.succeeded')
        .execute();
      assert.ok(events.length >= 1);

      // The same response again: its request is spent (and the assertion id is in the replay cache).
      const before = await sessionCount();
      const replay = await post(resp, s.relayState, s.cookie);
      assert.equal(replay.statusCode, 401, replay.body);
      assert.equal(replay.json().error_code, 'AUTHENTICATION_ERROR');
      assert.equal((await lastRefusal()).reason, 'in_response_to');
      assert.equal(await sessionCount(), before);
    });

    test('a second sign-in links to the same user; the shared ACS finds the connection by RelayState', async () => {
      const email = `link${++seq}@acme-idp.test`;
      const ids: string[] = [];
      for (const path of [`/api/v1/sso/acs/${conn.id}`, '/api/v1/sso/acs']) {
        const s = await startSignIn();
        const resp = await idp.signResponse({
          sp: { ...sp(), acsUrl: `${BASE}${path}` },
          requestId: s.requestId,
          nameId: email,
          attributes: { email },
        });
        const acs = await post(resp, s.relayState, s.cookie, path);
        assert.equal(acs.statusCode, 302, acs.body);
        const codeValue = new URL(String(acs.headers.location)).searchParams.get('code');
        const ex = await call(t, 'POST', '/api/v1/auth/exchange', {
          body: { code: codeValue, redirect_uri: APP },
        });
        assert.equal(ex.statusCode, 200, ex.body);
        ids.push(ex.data.user.id);
      }
      assert.equal(ids[0], ids[1]);
    });

    test('a response posted from another browser than the one that started the sign-in is refused', async () => {
      const s = await startSignIn();
      const other = await startSignIn();
      const resp = await idp.signResponse({
        sp: sp(),
        requestId: s.requestId,
        nameId: `x${++seq}@acme-idp.test`,
      });
      const res = await post(resp, s.relayState, other.cookie);
      assert.equal(res.statusCode, 401, res.body);
      assert.match(String((await lastRefusal()).messages), /another browser/);
    });

    test('unsolicited responses are refused unless the connection allows IdP-initiated sign-in', async () => {
      const email = `idpinit${++seq}@acme-idp.test`;
      const resp = await idp.signResponse({
        sp: sp(),
        requestId: null,
        nameId: email,
        attributes: { email },
      });
      const refused = await post(resp, '', undefined);
      assert.equal(refused.statusCode, 401, refused.body);
      assert.equal((await lastRefusal()).reason, 'unsolicited');
      const up = await call(t, 'PATCH', `/api/v1/sso/configurations/${conn.id}`, {
        token: owner.token,
        body: { allow_idp_initiated: true },
      });
      assert.equal(up.statusCode, 200, up.body);
      const resp2 = await idp.signResponse({
        sp: sp(),
        requestId: null,
        nameId: email,
        attributes: { email },
      });
      const ok = await post(resp2, APP, undefined);
      assert.equal(ok.statusCode, 302, ok.body);
      assert.ok(String(ok.headers.location).startsWith(APP));
      // No request to spend: the replay cache (shared by every node) refuses the same assertion twice.
      const again = await post(resp2, APP, undefined);
      assert.equal(again.statusCode, 401, again.body);
      assert.equal((await lastRefusal()).reason, 'replay');
      await call(t, 'PATCH', `/api/v1/sso/configurations/${conn.id}`, {
        token: owner.token,
        body: { allow_idp_initiated: false },
      });
    });

    test('a response for another SP (audience, destination) is refused with the reason', async () => {
      const s = await startSignIn();
      const resp = await idp.signResponse({
        sp: sp(),
        requestId: s.requestId,
        nameId: `aud${++seq}@acme-idp.test`,
        audience: 'https://other-sp.example.com',
      });
      const res = await post(resp, s.relayState, s.cookie);
      assert.equal(res.statusCode, 401);
      const m = await lastRefusal();
      assert.deepEqual((m.checks as string[]).includes('audience'), true, JSON.stringify(m));
    });

    test('an account outside the organization is not taken over; a verified domain links it', async () => {
      const s = await startSignIn();
      const resp = await idp.signResponse({
        sp: sp(),
        requestId: s.requestId,
        nameId: outsider.email,
        attributes: { email: outsider.email },
      });
      const res = await post(resp, s.relayState, s.cookie);
      assert.equal(res.statusCode, 401, res.body);
      assert.equal((await lastRefusal()).reason, 'account_outside_organization');
      // A member (already in the organization) links without a domain.
      const s2 = await startSignIn();
      const r2 = await idp.signResponse({
        sp: sp(),
        requestId: s2.requestId,
        nameId: member.email,
        attributes: { email: member.email },
      });
      const ok = await post(r2, s2.relayState, s2.cookie);
      assert.equal(ok.statusCode, 302, ok.body);
    });

    test('discovery by a verified email domain; an unverified one routes nobody', async () => {
      const platform = await makeUser(t, 'platform', { admin: true });
      const domain = `acme${++seq}.example`;
      const add = await call(t, 'POST', '/api/v1/sso/domains', {
        token: owner.token,
        body: { organization_id: org.id, domain },
      });
      assert.equal(add.statusCode, 201, add.body);
      assert.equal(add.data.verified, false);
      assert.match(add.data.dns_record.value, /^janua-verification=/);
      const unverified = await t.app.inject({
        method: 'GET',
        url: `/api/v1/sso/initiate?email=jo@${domain}`,
      });
      assert.equal(unverified.statusCode, 404);
      // An organization admin cannot self-verify without DNS; a platform admin can answer for it.
      const self = await call(t, 'POST', '/api/v1/sso/domains', {
        token: owner.token,
        body: { organization_id: org.id, domain: `x${domain}`, verified: true },
      });
      assert.equal(self.statusCode, 403);
      await call(t, 'DELETE', `/api/v1/sso/domains/${domain}?organization_id=${org.id}`, {
        token: owner.token,
      });
      const verified = await call(t, 'POST', '/api/v1/sso/domains', {
        token: platform.token,
        body: { organization_id: org.id, domain, verified: true },
      });
      assert.equal(verified.statusCode, 201, verified.body);
      const found = await t.app.inject({ method: 'GET', url: `/api/v1/sso/initiate?email=jo@${domain}` });
      assert.equal(found.statusCode, 302, found.body);
      const json = await call(t, 'POST', '/api/v1/sso/initiate', {
        body: { organization_slug: org.slug, return_url: APP },
      });
      assert.equal(json.statusCode, 200, json.body);
      assert.ok(json.data.redirect_url.startsWith(idp.config.ssoUrl));
      const offList = await t.app.inject({
        method: 'GET',
        url: `/api/v1/sso/initiate?org=${org.slug}&redirect_uri=${encodeURIComponent('https://evil.example.com/')}`,
      });
      assert.equal(offList.statusCode, 400);
    });

    test('oversized and malformed posts are refused before any XML work', async () => {
      const big = Buffer.alloc(300 * 1024, 'a').toString('base64');
      const res = await post(big, '', undefined);
      assert.ok([401, 413].includes(res.statusCode), String(res.statusCode));
      const junk = await post('not base64 at all!', '', undefined);
      assert.equal(junk.statusCode, 401);
      const json = await call(t, 'POST', `/api/v1/sso/acs/${conn.id}`, { body: { SAMLResponse: 1 } });
      assert.equal(json.statusCode, 401);
    });

    test('SP key rotation keeps the previous certificate in our metadata; POST /sso/test reports the connection', async () => {
      const before = (await call(t, 'GET', `/api/v1/sso/configurations/${conn.id}`, { token: owner.token }))
        .data;
      const rotated = await call(t, 'POST', `/api/v1/sso/configurations/${conn.id}/rotate-sp-key`, {
        token: owner.token,
      });
      assert.equal(rotated.statusCode, 200, rotated.body);
      assert.notEqual(rotated.data.sp_certificate, before.sp_certificate);
      const md = await t.app.inject({ method: 'GET', url: `/api/v1/sso/metadata/${conn.id}` });
      assert.ok(md.body.includes(bare(before.sp_certificate)), 'the previous certificate is still published');
      assert.ok(md.body.includes(bare(rotated.data.sp_certificate)));
      const report = await call(t, 'POST', '/api/v1/sso/test', {
        token: owner.token,
        body: { configuration_id: conn.id },
      });
      assert.equal(report.statusCode, 200, report.body);
      assert.equal(report.data.success, true, JSON.stringify(report.data));
      assert.equal(report.data.provider, 'okta');
      assert.match(report.data.details.authn_request_url, /SAMLRequest=/);
      const denied = await call(t, 'POST', '/api/v1/sso/test', {
        token: member.token,
        body: { configuration_id: conn.id },
      });
      assert.equal(denied.statusCode, 403);
    });

    test('SDK spellings: create with query organization_id and fields, PUT and DELETE by organization id', async () => {
      const o = await call(t, 'POST', '/api/v1/organizations', {
        token: owner.token,
        body: { name: 'Beta', slug: `beta-sso-${Date.now().toString(36)}` },
      });
      const c = await call(t, 'POST', `/api/v1/sso/configurations?organization_id=${o.data.id}`, {
        token: owner.token,
        body: {
          provider: 'azure_ad',
          saml_entity_id: idp.config.entityId,
          saml_sso_url: idp.config.ssoUrl,
          saml_certificate: idp.config.certificates[0],
        },
      });
      assert.equal(c.statusCode, 201, c.body);
      const put = await call(t, 'PUT', `/api/v1/sso/configurations/${o.data.id}`, {
        token: owner.token,
        body: { enabled: false },
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.data.status, 'inactive');
      const bad = await call(t, 'POST', `/api/v1/sso/configurations?organization_id=${o.data.id}`, {
        token: owner.token,
        body: { saml_entity_id: 'x', saml_sso_url: 'https://idp/sso', saml_certificate: 'not a cert' },
      });
      assert.equal(bad.statusCode, 422, bad.body);
      const ownerRole = await call(t, 'POST', `/api/v1/sso/configurations?organization_id=${o.data.id}`, {
        token: owner.token,
        body: { saml_metadata_xml: idp.metadataXml, default_role: 'owner' },
      });
      assert.equal(ownerRole.statusCode, 403, ownerRole.body);
      const del = await call(t, 'DELETE', `/api/v1/sso/configurations/${o.data.id}`, { token: owner.token });
      assert.equal(del.statusCode, 204);
      assert.equal(
        (await call(t, 'GET', `/api/v1/sso/configurations/${c.data.id}`, { token: owner.token })).statusCode,
        404,
      );
    });
  });
}
