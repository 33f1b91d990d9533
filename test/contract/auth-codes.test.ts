/**
 * One-time codes (`POST /api/v1/auth/exchange`) and the SSO flow rows on every dialect: a code is single use
 * (also under parallel exchanges), lives 60 s, is bound to its redirect URI (a wrong one spends it), and
 * the MFA step applies unless the first factor already proved a second; AuthnRequests are spent once and
 * only by the browser that made them; the replay cache refuses an assertion id twice.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { AUTH_CODE_TTL_MS, exchangeCode, issueAuthCode } from '../../src/core/auth/codes.js';
import { hashToken } from '../../src/core/crypto/secrets.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import { CLI_CONTEXT } from '../../src/core/events/events.js';
import { isMfaRequired } from '../../src/core/mfa/challenge.js';
import { createOrganization } from '../../src/core/orgs/service.js';
import { CLI_ACTOR } from '../../src/core/rbac/access.js';
import { organizations } from '../../src/core/store/repos/organizations.js';
import { ssoConnections } from '../../src/core/store/repos/sso-connections.js';
import { samlAssertionIds, ssoRequests } from '../../src/core/store/repos/sso-flow.js';
import { createUser } from '../../src/core/users/service.js';
import { testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';

const CTX = { ip: '192.0.2.30', userAgent: 'codes-test', requestId: 'req-codes' };
const APP = 'https://app.example.com/callback';

function code(expected: ErrorCode) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    return true;
  };
}

let n = 0;
const email = () => `codes${++n}.${Date.now().toString(36)}@example.com`;

for (const dialect of dialects()) {
  describe(`one-time codes and SSO flow rows (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function setup() {
      const t = await testContainer(dialect);
      open.push(t);
      const user = await createUser(t.c, { email: email() }, CLI_CONTEXT);
      const issue = (over: Partial<Parameters<typeof issueAuthCode>[1]> = {}) =>
        t.c.store.transaction((tx) =>
          issueAuthCode(
            tx,
            { userId: user.id, redirectUri: APP, method: 'saml', mfaSatisfied: false, details: {}, ...over },
            t.c.clock.now(),
          ),
        );
      return { ...t, user, issue };
    }

    it('a code buys one token response, once; only its hash is stored', async () => {
      const t = await setup();
      const c = await t.issue();
      const stored = await t.c.store.db.selectFrom('auth_codes').selectAll().execute();
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.code_hash, hashToken(c));
      assert.ok(!JSON.stringify(stored).includes(c), 'the code itself is not stored');
      const r = await exchangeCode(t.c, { code: c, redirectUri: APP }, CTX);
      assert.ok(!isMfaRequired(r));
      assert.equal(r.user.id, t.user.id);
      assert.ok(r.tokens.access_token && r.tokens.refresh_token);
      await assert.rejects(exchangeCode(t.c, { code: c, redirectUri: APP }, CTX), code('TOKEN_ERROR'));
    });

    it('of parallel exchanges of one code exactly one wins', async () => {
      const t = await setup();
      const c = await t.issue();
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => exchangeCode(t.c, { code: c, redirectUri: APP }, CTX)),
      );
      assert.equal(results.filter((x) => x.status === 'fulfilled').length, 1);
      const sessions = await t.c.store.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', t.user.id)
        .execute();
      assert.equal(sessions.length, 1);
    });

    it('another redirect URI is refused and spends the code; 60 s later it is dead', async () => {
      const t = await setup();
      const c1 = await t.issue();
      await assert.rejects(
        exchangeCode(t.c, { code: c1, redirectUri: 'https://evil.example.com/callback' }, CTX),
        code('TOKEN_ERROR'),
      );
      await assert.rejects(exchangeCode(t.c, { code: c1, redirectUri: APP }, CTX), code('TOKEN_ERROR'));
      const c2 = await t.issue();
      t.clock.advance(AUTH_CODE_TTL_MS + 1);
      await assert.rejects(exchangeCode(t.c, { code: c2, redirectUri: APP }, CTX), code('TOKEN_ERROR'));
      await assert.rejects(exchangeCode(t.c, { code: 'short', redirectUri: APP }, CTX), code('TOKEN_ERROR'));
    });

    it("an organization's MFA requirement applies unless the IdP asserted MFA", async () => {
      const t = await setup();
      const { organization } = await createOrganization(
        t.c,
        CLI_ACTOR,
        { name: 'Strict', slug: `strict-${n}-${Date.now().toString(36)}`, ownerId: t.user.id },
        CLI_CONTEXT,
      );
      await organizations.update(t.c.store.db, organization.id, { requireMfa: true }, t.c.clock.now());
      const plain = await exchangeCode(t.c, { code: await t.issue(), redirectUri: APP }, CTX);
      assert.ok(isMfaRequired(plain), 'an mfa_token instead of tokens');
      assert.equal(plain.enrollmentRequired, true);
      const proven = await exchangeCode(
        t.c,
        { code: await t.issue({ mfaSatisfied: true }), redirectUri: APP },
        CTX,
      );
      assert.ok(!isMfaRequired(proven), 'the IdP’s MFA counts');
    });

    it('a suspended user gets no session from a code', async () => {
      const t = await setup();
      const c = await t.issue();
      await t.c.store.db
        .updateTable('users')
        .set({ status: 'suspended' })
        .where('id', '=', t.user.id)
        .execute();
      await assert.rejects(
        exchangeCode(t.c, { code: c, redirectUri: APP }, CTX),
        code('AUTHORIZATION_ERROR'),
      );
    });

    it('an AuthnRequest is spent once, by the browser that made it, before it expires', async () => {
      const t = await setup();
      const { organization } = await createOrganization(
        t.c,
        CLI_ACTOR,
        { name: 'Acme', slug: `acme-${n}-${Date.now().toString(36)}`, ownerId: t.user.id },
        CLI_CONTEXT,
      );
      const now = t.c.clock.now();
      const conn = await ssoConnections.insert(
        t.c.store.db,
        {
          id: randomUUID(),
          organizationId: organization.id,
          name: 'x',
          provider: 'saml',
          enabled: true,
          idpEntityId: 'https://idp.example.com',
          idpSsoUrl: 'https://idp.example.com/sso',
          idpCertificates: [],
          idpWantsSignedRequests: false,
          metadataUrl: null,
          metadataXml: null,
          metadataRefreshedAt: null,
          metadataError: null,
          spKeyBox: 'sealed',
          spCertificate: 'cert',
          spPreviousKeyBox: null,
          spPreviousCertificate: null,
          spKeyRotatedAt: null,
          attributeMapping: {},
          groupRoles: {},
          defaultRole: 'member',
          jitProvisioning: true,
          allowIdpInitiated: false,
        },
        now,
      );
      const mk = async (id: string) =>
        ssoRequests.insert(t.c.store.db, {
          id,
          connectionId: conn.id,
          relayState: `rs-${id}`,
          browserHash: hashToken('browser-a'),
          redirectUri: APP,
          appState: null,
          createdAt: now,
          expiresAt: new Date(now.getTime() + 600_000),
        });
      await mk('_r1');
      assert.equal((await ssoRequests.findByRelayState(t.c.store.db, 'rs-_r1'))?.id, '_r1');
      assert.equal(
        await ssoRequests.consume(t.c.store.db, '_r1', conn.id, hashToken('browser-b'), now),
        undefined,
      );
      assert.ok(await ssoRequests.consume(t.c.store.db, '_r1', conn.id, hashToken('browser-a'), now));
      assert.equal(
        await ssoRequests.consume(t.c.store.db, '_r1', conn.id, hashToken('browser-a'), now),
        undefined,
      );
      await mk('_r2');
      const late = new Date(now.getTime() + 600_001);
      assert.equal(
        await ssoRequests.consume(t.c.store.db, '_r2', conn.id, hashToken('browser-a'), late),
        undefined,
      );
      const until = new Date(now.getTime() + 300_000);
      assert.equal(await samlAssertionIds.remember(t.c.store.db, 'https://idp', '_a1', until), true);
      assert.equal(await samlAssertionIds.remember(t.c.store.db, 'https://idp', '_a1', until), false);
      assert.equal(await samlAssertionIds.remember(t.c.store.db, 'https://other-idp', '_a1', until), true);
    });
  });
}
