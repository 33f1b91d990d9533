/**
 * Passkey ceremonies in the core on every dialect, with a software authenticator (real P-256 signatures):
 * challenges single use, bound to their ceremony and (registration) to their user, expiring after 5 minutes
 * on a fixed clock; origin, RP id, user presence and verification, signature and counter checks; every outcome
 * audited; email-first options that do not reveal whether an account exists.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { authenticate, signUp } from '../../src/core/auth/service.js';
import type { Container } from '../../src/core/container.js';
import { type ErrorCode, isJanuaError } from '../../src/core/errors.js';
import type { RequestContext } from '../../src/core/events/events.js';
import { cleanupSessions, EXPIRED_GRACE_MS } from '../../src/core/jobs/cleanup.js';
import { beginAuthentication, completeAuthentication } from '../../src/core/passkeys/authenticate.js';
import { CHALLENGE_TTL_MS } from '../../src/core/passkeys/ceremony.js';
import { listPasskeys, removePasskey, renamePasskey } from '../../src/core/passkeys/manage.js';
import { beginRegistration, completeRegistration } from '../../src/core/passkeys/register.js';
import type { User } from '../../src/core/users/model.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

const ORIGIN = 'http://localhost:5173';
const ENV = { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: `${ORIGIN},https://app.localhost` };
const CTX: RequestContext = { ip: '192.0.2.40', userAgent: 'contract-test', requestId: 'req-passkeys' };

function code(expected: ErrorCode, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(isJanuaError(err), `expected a JanuaError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

let n = 0;
const email = () => `pk${++n}.${Date.now().toString(36)}@example.com`;

for (const dialect of dialects()) {
  describe(`passkeys (${dialect})`, () => {
    const open: Array<{ close(): Promise<void> }> = [];
    afterEach(async () => {
      for (const t of open.splice(0)) await t.close();
    });
    async function setup() {
      const t = await testContainer(dialect, ENV);
      open.push(t);
      return t;
    }
    async function newUser(c: Container): Promise<User> {
      return (await signUp(c, { email: email(), password: GOOD_PASSWORD }, CTX)).user;
    }
    /** Registers a passkey for `user` with `auth`; returns the stored row and the soft credential. */
    async function register(c: Container, user: User, auth: SoftAuthenticator) {
      const options = await beginRegistration(c, user);
      const made = auth.create(options);
      const row = await completeRegistration(c, user, { credential: made.response, name: 'Laptop' }, CTX);
      return { row, soft: made.credential };
    }
    async function auditRows(c: Container, action: string) {
      return c.store.db
        .selectFrom('audit_events')
        .select(['outcome', 'target_id', 'metadata'])
        .where('action', '=', action)
        .orderBy('occurred_at')
        .execute()
        .then((rows) =>
          rows.map((r) => ({
            outcome: r.outcome,
            target: r.target_id,
            meta: (typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata) as Record<
              string,
              unknown
            >,
          })),
        );
    }
    async function lastFailure(c: Container, action: string) {
      const rows = (await auditRows(c, action)).filter((r) => r.outcome === 'failure');
      return rows[rows.length - 1];
    }
    async function events(c: Container, type: string) {
      return c.store.db.selectFrom('outbox').select('payload').where('event_type', '=', type).execute();
    }

    it('registers with resident key and user verification required, then signs in usernameless and email-first', async () => {
      const { c } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      const options = await beginRegistration(c, user);
      assert.equal(options.rp.id, 'localhost');
      assert.equal(options.authenticatorSelection?.residentKey, 'required');
      assert.equal(options.authenticatorSelection?.userVerification, 'required');
      assert.deepEqual(options.excludeCredentials, []);
      const made = auth.create(options);
      const row = await completeRegistration(c, user, { credential: made.response, name: 'Laptop' }, CTX);
      assert.equal(row.name, 'Laptop');
      assert.equal(row.credentialId, made.response.id);
      assert.equal((await events(c, 'security.passkey.registered')).length, 1);
      const again = await beginRegistration(c, user);
      assert.deepEqual(
        again.excludeCredentials?.map((x) => x.id),
        [row.credentialId],
        'existing passkeys are excluded',
      );

      // Usernameless: no allowCredentials; the authenticator names the account by its user handle.
      const o1 = await beginAuthentication(c, {});
      assert.equal(o1.allowCredentials, undefined);
      assert.equal(o1.userVerification, 'required');
      const s1 = await completeAuthentication(c, { credential: auth.get(o1) }, CTX);
      assert.equal(s1.user.id, user.id);
      const who = await authenticate(c, s1.tokens.access_token);
      assert.equal(who.user.id, user.id);

      // Email-first: allowCredentials lists this account's passkey.
      const o2 = await beginAuthentication(c, { email: user.email.toUpperCase() });
      assert.deepEqual(
        o2.allowCredentials?.map((x) => x.id),
        [row.credentialId],
      );
      const s2 = await completeAuthentication(c, { credential: auth.get(o2) }, CTX);
      assert.equal(s2.user.id, user.id);
      const [stored] = await listPasskeys(c, user.id);
      assert.equal(stored?.signCount, 2, 'the counter follows the authenticator');
      assert.ok(stored?.lastUsedAt);
      const ok = (await auditRows(c, 'auth.signin')).filter((r) => r.meta['method'] === 'passkey');
      assert.deepEqual(
        ok.map((r) => [r.outcome, r.target]),
        [
          ['success', user.id],
          ['success', user.id],
        ],
      );
      assert.deepEqual(
        (await auditRows(c, 'passkey.register')).map((r) => r.outcome),
        ['success'],
      );
    });

    it('a challenge is single use: a replayed registration or assertion is refused, audited, and changes nothing', async () => {
      const { c } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      const options = await beginRegistration(c, user);
      const made = auth.create(options);
      await completeRegistration(c, user, { credential: made.response }, CTX);
      await assert.rejects(
        completeRegistration(c, user, { credential: made.response }, CTX),
        code('BAD_REQUEST', /challenge/),
      );
      assert.equal((await listPasskeys(c, user.id)).length, 1);
      assert.equal((await lastFailure(c, 'passkey.register'))?.meta['reason'], 'challenge');

      const o = await beginAuthentication(c, {});
      const assertion = auth.get(o);
      await completeAuthentication(c, { credential: assertion }, CTX);
      const before = await listPasskeys(c, user.id);
      await assert.rejects(
        completeAuthentication(c, { credential: assertion }, CTX),
        code('AUTHENTICATION_ERROR', /challenge/),
      );
      assert.deepEqual(await listPasskeys(c, user.id), before);
      assert.equal((await lastFailure(c, 'auth.signin'))?.meta['reason'], 'challenge');
    });

    it('of two parallel completions of one assertion exactly one signs in', async () => {
      const { c } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      await register(c, user, auth);
      const assertion = auth.get(await beginAuthentication(c, {}));
      const results = await Promise.allSettled([
        completeAuthentication(c, { credential: assertion }, CTX),
        completeAuthentication(c, { credential: assertion }, CTX),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    it('a challenge expires after 5 minutes (fixed clock)', async () => {
      const { c, clock } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      const options = await beginRegistration(c, user);
      clock.advance(CHALLENGE_TTL_MS);
      await assert.rejects(
        completeRegistration(c, user, { credential: auth.create(options).response }, CTX),
        code('BAD_REQUEST', /expired/),
      );
      const fresh = await beginRegistration(c, user);
      clock.advance(CHALLENGE_TTL_MS - 1);
      await completeRegistration(c, user, { credential: auth.create(fresh).response }, CTX);
      const o = await beginAuthentication(c, {});
      clock.advance(CHALLENGE_TTL_MS);
      await assert.rejects(
        completeAuthentication(c, { credential: auth.get(o) }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      // Expired challenges, spent or not, go with the daily cleanup (a day past expiry).
      const count = async () =>
        Number(
          (
            await c.store.db
              .selectFrom('webauthn_challenges')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      assert.ok((await count()) >= 3);
      clock.advance(EXPIRED_GRACE_MS + 1);
      await beginAuthentication(c, {});
      await cleanupSessions(c.store.db, clock.now());
      assert.equal(await count(), 1, 'only the live challenge is left');
    });

    it('a registration challenge is bound to its user and its ceremony', async () => {
      const { c } = await setup();
      const alice = await newUser(c);
      const bob = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      const forAlice = await beginRegistration(c, alice);
      const response = auth.create(forAlice).response;
      await assert.rejects(
        completeRegistration(c, bob, { credential: response }, CTX),
        code('BAD_REQUEST', /challenge/),
      );
      assert.equal((await listPasskeys(c, bob.id)).length, 0);
      // Bob's attempt did not spend Alice's challenge: it is hers.
      await completeRegistration(c, alice, { credential: response }, CTX);

      // A registration challenge does not answer a sign-in, nor a sign-in challenge a registration.
      const regOptions = await beginRegistration(c, alice);
      await assert.rejects(
        completeAuthentication(
          c,
          { credential: auth.get({ challenge: regOptions.challenge, rpId: 'localhost' }) },
          CTX,
        ),
        code('AUTHENTICATION_ERROR', /challenge/),
      );
      const authOptions = await beginAuthentication(c, {});
      await assert.rejects(
        completeRegistration(
          c,
          alice,
          {
            credential: auth.create({
              challenge: authOptions.challenge,
              rp: { id: 'localhost' },
              user: { id: 'x' },
            }).response,
          },
          CTX,
        ),
        code('BAD_REQUEST', /challenge/),
      );
    });

    it('an email-first challenge is answered only by that account’s passkey', async () => {
      const { c } = await setup();
      const alice = await newUser(c);
      const bob = await newUser(c);
      const a = new SoftAuthenticator('localhost', ORIGIN);
      const b = new SoftAuthenticator('localhost', ORIGIN);
      await register(c, alice, a);
      await register(c, bob, b);
      const forAlice = await beginAuthentication(c, { email: alice.email });
      await assert.rejects(
        completeAuthentication(c, { credential: b.get(forAlice, { credential: b.credentials[0] }) }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      assert.equal((await lastFailure(c, 'auth.signin'))?.meta['reason'], 'credential_not_allowed');
    });

    it('email-first options for an unknown address look like a known one’s, the same every time', async () => {
      const { c } = await setup();
      const user = await newUser(c);
      await register(c, user, new SoftAuthenticator('localhost', ORIGIN));
      const known = await beginAuthentication(c, { email: user.email });
      const nobody = 'nobody@example.com';
      const u1 = await beginAuthentication(c, { email: nobody });
      const u2 = await beginAuthentication(c, { email: nobody });
      const shape = (o: typeof known) => ({
        keys: Object.keys(o).sort(),
        allow: o.allowCredentials?.map((x) => ({
          keys: Object.keys(x).sort(),
          len: x.id.length,
          type: x.type,
        })),
      });
      assert.deepEqual(shape(u1), shape(known));
      assert.deepEqual(u1.allowCredentials, u2.allowCredentials, 'the decoy is stable');
      // A known account without passkeys gets a decoy too.
      const bare = await newUser(c);
      assert.deepEqual(shape(await beginAuthentication(c, { email: bare.email })), shape(known));
    });

    it('refuses a wrong origin, RP id, ceremony type, missing UP or UV, and a bad signature — audited, nothing changed', async () => {
      const { c, clock } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      const { row } = await register(c, user, auth);
      const cases: Array<[Parameters<SoftAuthenticator['get']>[1], string]> = [
        [{ origin: 'http://localhost:6666' }, 'origin'],
        [{ origin: 'https://evil.example' }, 'origin'],
        [{ rpId: 'example.com' }, 'rp_id'],
        [{ type: 'webauthn.create' }, 'type'],
        [{ up: false }, 'user_presence'],
        [{ uv: false }, 'user_verification'],
        [{ badSignature: true }, 'signature'],
      ];
      for (const [override, reason] of cases) {
        clock.advance(1000); // audit rows are told apart by time
        const o = await beginAuthentication(c, {});
        await assert.rejects(
          completeAuthentication(c, { credential: auth.get(o, override) }, CTX),
          code('AUTHENTICATION_ERROR'),
          reason,
        );
        const f = await lastFailure(c, 'auth.signin');
        assert.equal(f?.meta['reason'], reason, JSON.stringify(f));
        assert.equal(f?.target, user.id);
      }
      const [after] = await listPasskeys(c, user.id);
      assert.equal(after?.signCount, row.signCount, 'no refused assertion moved the counter');
      assert.equal(after?.lastUsedAt, null);

      // Registration from an origin not on the list, or without UV, is refused the same way.
      const o = await beginRegistration(c, user);
      await assert.rejects(
        completeRegistration(
          c,
          user,
          { credential: auth.create(o, { origin: 'http://127.0.0.1:5173' }).response },
          CTX,
        ),
        code('BAD_REQUEST', /origin/),
      );
      const o2 = await beginRegistration(c, user);
      await assert.rejects(
        completeRegistration(c, user, { credential: auth.create(o2, { uv: false }).response }, CTX),
        code('BAD_REQUEST', /verif/),
      );
      assert.equal((await listPasskeys(c, user.id)).length, 1);
    });

    it('a signature counter that does not grow is refused and audited (cloned authenticator)', async () => {
      const { c, clock } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      const { row, soft } = await register(c, user, auth);
      await completeAuthentication(c, { credential: auth.get(await beginAuthentication(c, {})) }, CTX);
      // The stored counter is raised past the authenticator's: its next signature looks like a clone's.
      await c.store.db
        .updateTable('webauthn_credentials')
        .set({ sign_count: 100 })
        .where('id', '=', row.id)
        .execute();
      for (const counter of [soft.counter + 1, 100]) {
        clock.advance(1000);
        await assert.rejects(
          completeAuthentication(
            c,
            { credential: auth.get(await beginAuthentication(c, {}), { counter }) },
            CTX,
          ),
          code('AUTHENTICATION_ERROR', /counter/),
        );
        const f = await lastFailure(c, 'auth.signin');
        assert.equal(f?.meta['reason'], 'counter_regression');
        assert.equal(f?.meta['passkey_id'], row.id);
      }
      const [stored] = await listPasskeys(c, user.id);
      assert.equal(stored?.signCount, 100);
      // A counter past the stored one signs in again.
      await completeAuthentication(
        c,
        { credential: auth.get(await beginAuthentication(c, {}), { counter: 101 }) },
        CTX,
      );
      // Authenticators without a counter (always 0) are allowed while the stored one is 0 too.
      const zero = new SoftAuthenticator('localhost', ORIGIN);
      const other = await newUser(c);
      await register(c, other, zero);
      for (let i = 0; i < 2; i++)
        await completeAuthentication(
          c,
          { credential: zero.get(await beginAuthentication(c, {}), { counter: 0 }) },
          CTX,
        );
    });

    it('an unknown credential, a foreign user handle and a malformed response are refused', async () => {
      const { c, clock } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      await register(c, user, auth);
      const stranger = new SoftAuthenticator('localhost', ORIGIN);
      stranger.create({ challenge: 'x', rp: { id: 'localhost' }, user: { id: 'eA' } });
      await assert.rejects(
        completeAuthentication(c, { credential: stranger.get(await beginAuthentication(c, {})) }, CTX),
        code('AUTHENTICATION_ERROR', /not registered/),
      );
      clock.advance(1000);
      const forged = auth.get(await beginAuthentication(c, {}));
      forged.response.userHandle = Buffer.from('00000000-0000-4000-8000-000000000000').toString('base64url');
      await assert.rejects(
        completeAuthentication(c, { credential: forged }, CTX),
        code('AUTHENTICATION_ERROR'),
      );
      assert.equal((await lastFailure(c, 'auth.signin'))?.meta['reason'], 'user_handle');
      await assert.rejects(
        completeAuthentication(
          c,
          { credential: { id: 'x', rawId: 'x', type: 'public-key', response: {} } },
          CTX,
        ),
        code('AUTHENTICATION_ERROR', /malformed/),
      );
    });

    it('a suspended account cannot sign in with its passkey', async () => {
      const { c } = await setup();
      const user = await newUser(c);
      const auth = new SoftAuthenticator('localhost', ORIGIN);
      await register(c, user, auth);
      await c.store.db.updateTable('users').set({ status: 'suspended' }).where('id', '=', user.id).execute();
      await assert.rejects(
        completeAuthentication(c, { credential: auth.get(await beginAuthentication(c, {})) }, CTX),
        code('AUTHORIZATION_ERROR'),
      );
    });

    it('rename, and removal with the current password (emitting security.passkey.removed)', async () => {
      const { c } = await setup();
      const user = await newUser(c);
      const other = await newUser(c);
      const { row } = await register(c, user, new SoftAuthenticator('localhost', ORIGIN));
      const renamed = await renamePasskey(c, user.id, row.id, '  Work phone ', CTX);
      assert.equal(renamed.name, 'Work phone');
      await assert.rejects(renamePasskey(c, other.id, row.id, 'Mine now', CTX), code('NOT_FOUND_ERROR'));
      await assert.rejects(renamePasskey(c, user.id, row.id, 'two\nlines', CTX), code('VALIDATION_ERROR'));
      await assert.rejects(removePasskey(c, user.id, row.id, {}, CTX), code('VALIDATION_ERROR'));
      await assert.rejects(
        removePasskey(c, user.id, row.id, { password: 'wrong' }, CTX),
        code('VALIDATION_ERROR'),
      );
      await assert.rejects(
        removePasskey(c, other.id, row.id, { password: GOOD_PASSWORD }, CTX),
        code('NOT_FOUND_ERROR'),
      );
      assert.equal((await listPasskeys(c, user.id)).length, 1);
      await removePasskey(c, user.id, row.id, { password: GOOD_PASSWORD }, CTX);
      assert.equal((await listPasskeys(c, user.id)).length, 0);
      assert.equal((await events(c, 'security.passkey.removed')).length, 1);
    });
  });
}
