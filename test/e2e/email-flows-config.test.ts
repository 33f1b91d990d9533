/**
 * The email flows under their stricter settings, against the spawned binary with a real SMTP sink:
 * REQUIRE_EMAIL_VERIFICATION (sign-up opens no session, sign-in waits for the link), MAGIC_LINK_CREATE_USERS
 * (a link for an unknown address creates the account), and the per-IP limit of requests by address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dialects } from '../helpers/db.js';
import { type SmtpSink, startSmtpSink, tokenFrom } from '../helpers/smtp.js';
import {
  AUTH,
  assertError,
  type Call,
  e2eDaemon,
  PASSWORD,
  type Res,
  signIn,
  uniqueEmail,
} from './support.js';

for (const dialect of dialects()) {
  describe(`e2e email flows, strict configuration (${dialect})`, () => {
    let sink: SmtpSink;
    let call: Call;
    const env: Record<string, string> = {
      REQUIRE_EMAIL_VERIFICATION: 'true',
      MAGIC_LINK_CREATE_USERS: 'true',
      RATE_LIMIT_ENABLED: 'true',
      AUTH_RATE_LIMIT_PER_MINUTE: '12',
      RATE_LIMIT_PER_MINUTE: '1000',
    };
    before(async () => {
      sink = await startSmtpSink();
      Object.assign(env, sink.env);
    });
    after(() => sink.close());
    e2eDaemon(dialect, env, (f) => {
      ({ call } = f);
    });

    test('REQUIRE_EMAIL_VERIFICATION: sign-up opens no session, sign-in is refused until the link is followed', async () => {
      const email = uniqueEmail('strict');
      const res = await call('POST', `${AUTH}/signup`, { body: { email, password: PASSWORD } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.access_token, undefined);
      assert.equal(res.body.tokens, undefined);
      assert.match(res.body.message, /verif/i);
      assertError(
        await call('POST', `${AUTH}/signin`, { body: { email, password: PASSWORD } }),
        403,
        'AUTHORIZATION_ERROR',
        'unverified sign-in',
      );
      // Not signed in: the resend by address answers as for anyone.
      const resend = await call('POST', `${AUTH}/email/resend`, { body: { email } });
      assert.equal(resend.status, 202, resend.text);
      const mail = await sink.waitFor((m) => m.to.includes(email) && m.subject.match(/confirm/i) !== null);
      const second = await sink.waitFor(
        (m) => m !== mail && m.to.includes(email) && m.subject.match(/confirm/i) !== null,
      );
      const ok = await call('POST', `${AUTH}/email/verify`, { body: { token: tokenFrom(second) } });
      assert.equal(ok.status, 200, ok.text);
      const s = await signIn(call, email);
      assert.equal(s.user.email_verified, true);
    });

    test('MAGIC_LINK_CREATE_USERS: a link for an unknown address creates the account, verified', async () => {
      const email = uniqueEmail('newbie');
      const res = await call('POST', `${AUTH}/magic-link`, { body: { email } });
      assert.equal(res.status, 202, res.text);
      const mail = await sink.waitFor((m) => m.to.includes(email));
      const signedIn = await call('POST', `${AUTH}/magic-link/verify`, { body: { token: tokenFrom(mail) } });
      assert.equal(signedIn.status, 200, signedIn.text);
      assert.equal(signedIn.body.user.email, email);
      assert.equal(signedIn.body.user.email_verified, true);
    });

    test('requests by address are limited per IP (credential class): 429 with Retry-After', async () => {
      let limited: Res | undefined;
      for (let i = 0; i < 30 && !limited; i++) {
        const r = await call('POST', `${AUTH}/password/forgot`, { body: { email: uniqueEmail('ip') } });
        if (r.status === 429) limited = r;
        else assert.equal(r.status, 202, r.text);
      }
      assert.ok(limited, 'the per-IP limit answered 429');
      assertError(limited, 429, 'RATE_LIMIT_ERROR', 'per-IP');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
    });
  });
}
