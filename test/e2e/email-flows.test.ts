/**
 * The email-driven flows end to end: the spawned daemon mails through a real SMTP server (smtp-server on a
 * loopback port); each test reads the link out of the received message and completes the flow over HTTP —
 * verification, password reset (every spelling), password change, magic link, email change — on each dialect.
 * Negative cases: reused links, redirect URLs off the allow-list, and requests by address that answer the same
 * for an unknown address (and mail nothing).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../../src/core/store/store.js';
import { dialects } from '../helpers/db.js';
import { type ReceivedMail, type SmtpSink, startSmtpSink, tokenFrom } from '../helpers/smtp.js';
import { until } from '../helpers/until.js';
import {
  AUTH,
  assertError,
  type Call,
  e2eDaemon,
  PASSWORD,
  type Res,
  signIn,
  signUp,
  uniqueEmail,
} from './support.js';

const NEW_PASSWORD = 'Brand-New-Pass-42';
const APP = 'https://app.example.com/auth/';
const PER_HOUR = 3;

/** A link's path and query, to follow it against the daemon whatever JANUA_BASE_URL says. */
function pathOf(link: string): string {
  const u = new URL(link);
  return `${u.pathname}${u.search}`;
}

/** What an answer shows a client, minus what differs per request anyway. */
function visible(r: Res) {
  const headers = { ...r.headers };
  for (const h of ['date', 'x-request-id', 'content-length', 'x-ratelimit-remaining', 'x-ratelimit-reset'])
    delete headers[h];
  return { status: r.status, body: r.body, headers };
}

function flowSuite(dialect: 'sqlite' | 'postgres') {
  describe(`e2e email flows (${dialect})`, () => {
    let sink: SmtpSink;
    let call: Call;
    let store: Store;
    const env: Record<string, string> = {
      REDIRECT_ALLOWLIST: `${APP},https://other.example.org`,
      FLOW_MAILS_PER_HOUR: String(PER_HOUR),
      MAIL_FROM: 'Janua <no-reply@example.com>',
    };
    before(async () => {
      sink = await startSmtpSink();
      Object.assign(env, sink.env);
    });
    after(() => sink.close());
    e2eDaemon(dialect, env, (f) => {
      ({ call, store } = f);
    });

    /** The next message to `to` about `subject` that arrived after the first `skip` of them. */
    async function mailTo(to: string, subject: RegExp, skip = 0): Promise<ReceivedMail> {
      let found: ReceivedMail | undefined;
      await until(
        async () => {
          found = sink.to(to).filter((m) => subject.test(m.subject))[skip];
          return found !== undefined;
        },
        20_000,
        `mail ${skip + 1} to ${to} matching ${subject}`,
      );
      return found!;
    }

    /** Waits until every queued email-flow request has run (so "no mail" means none will come). */
    async function flowJobsDone(): Promise<void> {
      await until(
        async () => {
          const open = await store.db
            .selectFrom('jobs')
            .select('id')
            .where('kind', 'in', ['auth.email_flow', 'mail.send'])
            .where('state', 'in', ['pending', 'running', 'failed'])
            .execute();
          return open.length === 0;
        },
        20_000,
        'queued email-flow jobs and mails',
      );
    }

    test('sign-up mails a verification link; following it (GET) verifies once; user.verified is emitted', async () => {
      const email = uniqueEmail('verify');
      const res = await call('POST', `${AUTH}/signup`, { body: { email, password: PASSWORD } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.message, 'Verification email sent');
      assert.equal(res.body.email_verified, false);
      assert.deepEqual(res.body.tokens.access_token, res.body.access_token, 'tokens flat and nested');
      const mail = await mailTo(email, /confirm your email/i);
      assert.equal(mail.from, 'no-reply@example.com');
      const link = mail.links.find((l) => l.includes('/api/v1/auth/email/verify'));
      assert.ok(link, `verification link in ${JSON.stringify(mail.links)}`);
      assert.match(mail.html, /href="http[^"]*token=/, 'the HTML part carries the link too');

      const ok = await call('GET', pathOf(link));
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.user.email_verified, true);
      const me = await call('GET', `${AUTH}/me`, { token: res.body.access_token });
      assert.equal(me.body.email_verified, true);
      assertError(await call('GET', pathOf(link)), 401, 'TOKEN_ERROR', 'the link again');
      const events = await store.db
        .selectFrom('outbox')
        .select('aggregate_id')
        .where('event_type', '=', 'user.verified')
        .where('aggregate_id', '=', res.body.user.id)
        .execute();
      assert.equal(events.length, 1);
    });

    test('resend-verification (signed in, empty body) mails a new link that spends the first; with redirect_url the GET link redirects there', async () => {
      const email = uniqueEmail('resend');
      const s = await signUp(call, email);
      const first = await mailTo(email, /confirm your email/i);
      const resent = await call('POST', `${AUTH}/email/resend-verification`, {
        token: s.access_token,
        body: '',
      });
      assert.equal(resent.status, 202, resent.text);
      assert.deepEqual(Object.keys(resent.body), ['message']);
      const second = await mailTo(email, /confirm your email/i, 1);
      assertError(
        await call('POST', `${AUTH}/email/verify`, { body: { token: tokenFrom(first) } }),
        401,
        'TOKEN_ERROR',
        'the older link',
      );
      // The documented path, with a page to land on: the link verifies, then sends the browser there.
      const again = await call('POST', `${AUTH}/email/resend`, {
        token: s.access_token,
        body: { redirect_url: `${APP}verified?from=mail` },
      });
      assert.equal(again.status, 202, again.text);
      const third = await mailTo(email, /confirm your email/i, 2);
      assert.notEqual(tokenFrom(third), tokenFrom(second));
      const hop = await call('GET', pathOf(third.links[0]!));
      assert.equal(hop.status, 303, hop.text);
      const to = new URL(String(hop.headers['location']));
      assert.equal(`${to.origin}${to.pathname}`, `${APP}verified`);
      assert.equal(to.searchParams.get('from'), 'mail');
      assert.equal(to.searchParams.get('email_verified'), 'true');
      assert.equal(to.searchParams.get('token'), null, 'the token does not travel on');
      const me = await call('GET', `${AUTH}/me`, { token: s.access_token });
      assert.equal(me.body.email_verified, true);
    });

    test('password reset: same answer for an unknown address (and no mail); the link resets once, every session ends', async () => {
      const email = uniqueEmail('reset');
      const s = await signUp(call, email);
      const other = await signIn(call, email);
      const unknown = uniqueEmail('nobody');
      const known = await call('POST', `${AUTH}/password/forgot`, { body: { email } });
      const nobody = await call('POST', `${AUTH}/password/forgot`, { body: { email: unknown } });
      assert.equal(known.status, 202, known.text);
      assert.deepEqual(visible(nobody), visible(known), 'no enumeration');
      const mail = await mailTo(email, /reset your/i);
      await flowJobsDone();
      assert.equal(sink.to(unknown).length, 0, 'nothing mailed to an unknown address');
      const msgs = await store.db
        .selectFrom('mail_messages')
        .select('id')
        .where('to_address', '=', unknown)
        .execute();
      assert.equal(msgs.length, 0);

      const token = tokenFrom(mail);
      // The SDK's spelling of the confirmation: {token, password}; the policy is enforced first.
      assertError(
        await call('POST', `${AUTH}/password/confirm`, { body: { token, password: 'weak' } }),
        422,
        'VALIDATION_ERROR',
        'weak password',
      );
      const done = await call('POST', `${AUTH}/password/confirm`, {
        body: { token, password: NEW_PASSWORD },
      });
      assert.equal(done.status, 200, done.text);
      assert.deepEqual(Object.keys(done.body), ['message']);
      for (const t of [s.access_token, other.access_token])
        assertError(await call('GET', `${AUTH}/me`, { token: t }), 401, 'TOKEN_ERROR', 'session after reset');
      assertError(
        await call('POST', `${AUTH}/refresh`, { body: { refresh_token: other.refresh_token } }),
        401,
        'TOKEN_ERROR',
        'refresh after reset',
      );
      await signIn(call, email, NEW_PASSWORD);
      assertError(
        await call('POST', `${AUTH}/signin`, { body: { email, password: PASSWORD } }),
        401,
        'AUTHENTICATION_ERROR',
        'old password',
      );
      assertError(
        await call('POST', `${AUTH}/password/reset/confirm`, {
          body: { token, new_password: `${NEW_PASSWORD}!` },
        }),
        401,
        'TOKEN_ERROR',
        'the link again',
      );
      await mailTo(email, /password was changed/i);
      const audit = await store.db
        .selectFrom('audit_events')
        .select('action')
        .where('action', '=', 'security.password.reset')
        .where('target_id', '=', s.user.id)
        .execute();
      assert.equal(audit.length, 1);
    });

    test('password reset: documented path with redirect_url (the link leads to the app), reset-request spelling too', async () => {
      const email = uniqueEmail('reset2');
      await signUp(call, email);
      const res = await call('POST', `${AUTH}/password/reset`, {
        body: { email, redirect_url: `${APP}reset` },
      });
      assert.equal(res.status, 202, res.text);
      const mail = await mailTo(email, /reset your/i);
      assert.ok(mail.links[0]!.startsWith(`${APP}reset?token=`), mail.links[0]);
      const again = await call('POST', `${AUTH}/password/reset-request`, { body: { email } });
      assert.equal(again.status, 202);
      const second = await mailTo(email, /reset your/i, 1);
      assertError(
        await call('POST', `${AUTH}/password/reset/confirm`, {
          body: { token: tokenFrom(mail), new_password: NEW_PASSWORD },
        }),
        401,
        'TOKEN_ERROR',
        'the link a newer one replaced',
      );
      const ok = await call('POST', `${AUTH}/password/reset/confirm`, {
        body: { token: tokenFrom(second), new_password: NEW_PASSWORD },
      });
      assert.equal(ok.status, 200, ok.text);
      await signIn(call, email, NEW_PASSWORD);
    });

    test(`per address: at most FLOW_MAILS_PER_HOUR (${PER_HOUR}) reset mails an hour; the answer never changes`, async () => {
      const email = uniqueEmail('flood');
      await signUp(call, email);
      const answers = [];
      for (let i = 0; i < PER_HOUR + 3; i++)
        answers.push(await call('POST', `${AUTH}/password/forgot`, { body: { email } }));
      for (const a of answers) assert.deepEqual(visible(a), visible(answers[0]!));
      await flowJobsDone();
      assert.equal(sink.to(email).filter((m) => /reset your/i.test(m.subject)).length, PER_HOUR);
    });

    test('password change (POST and PUT): current password checked, other sessions end, this one stays', async () => {
      const email = uniqueEmail('change');
      const s = await signUp(call, email);
      const other = await signIn(call, email);
      assertError(
        await call('POST', `${AUTH}/password/change`, {
          token: s.access_token,
          body: { current_password: 'Not-The-Password-1', new_password: NEW_PASSWORD },
        }),
        422,
        'VALIDATION_ERROR',
        'wrong current password',
      );
      assert.equal((await call('GET', `${AUTH}/me`, { token: other.access_token })).status, 200);
      const res = await call('PUT', `${AUTH}/password/change`, {
        token: s.access_token,
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body), ['message']);
      assert.equal((await call('GET', `${AUTH}/me`, { token: s.access_token })).status, 200);
      assertError(
        await call('GET', `${AUTH}/me`, { token: other.access_token }),
        401,
        'TOKEN_ERROR',
        'other',
      );
      await signIn(call, email, NEW_PASSWORD);
      const again = await call('POST', `${AUTH}/password/change`, {
        token: s.access_token,
        body: { current_password: NEW_PASSWORD, new_password: PASSWORD },
      });
      assert.equal(again.status, 200, again.text);
      await mailTo(email, /password was changed/i, 1);
      const events = await store.db
        .selectFrom('outbox')
        .select('id')
        .where('event_type', '=', 'security.password.changed')
        .where('aggregate_id', '=', s.user.id)
        .execute();
      assert.equal(events.length, 2);
    });

    test('magic link: same answer for an unknown address; the link signs in once (tokens flat and nested)', async () => {
      const email = uniqueEmail('magic');
      const s = await signUp(call, email);
      const unknown = uniqueEmail('nomagic');
      const known = await call('POST', `${AUTH}/magic-link`, {
        body: { email, redirect_url: `${APP}magic` },
      });
      const nobody = await call('POST', `${AUTH}/magic-link`, {
        body: { email: unknown, redirect_url: `${APP}magic` },
      });
      assert.equal(known.status, 202, known.text);
      assert.deepEqual(visible(nobody), visible(known), 'no enumeration');
      const mail = await mailTo(email, /sign-in link/i);
      assert.ok(mail.links[0]!.startsWith(`${APP}magic?token=`), mail.links[0]);
      const token = tokenFrom(mail);
      const [a, b] = await Promise.all([
        call('POST', `${AUTH}/magic-link/verify`, { body: { token } }),
        call('POST', `${AUTH}/magic-link/verify`, { body: { token } }),
      ]);
      const wins = [a, b].filter((r) => r.status === 200);
      assert.equal(wins.length, 1, `${a.status} ${b.status}`);
      const loser = [a, b].find((r) => r.status !== 200)!;
      assertError(loser, 401, 'TOKEN_ERROR', 'parallel second use');
      const win = wins[0]!.body;
      assert.equal(win.token_type, 'bearer');
      assert.deepEqual(win.tokens, {
        access_token: win.access_token,
        refresh_token: win.refresh_token,
        token_type: 'bearer',
        expires_in: win.expires_in,
      });
      assert.equal(win.user.id, s.user.id);
      assert.equal(win.user.email_verified, true, 'the link proves the mailbox');
      assert.equal((await call('GET', `${AUTH}/me`, { token: win.tokens.access_token })).status, 200);
      // The SDK's resend spelling sends a fresh link.
      const resend = await call('POST', `${AUTH}/magic-link/resend`, { body: { email } });
      assert.equal(resend.status, 202);
      const next = await mailTo(email, /sign-in link/i, 1);
      assert.notEqual(tokenFrom(next), token);
      await flowJobsDone();
      assert.equal(sink.to(unknown).length, 0, 'unknown addresses get no mail (MAGIC_LINK_CREATE_USERS off)');
      const created = await store.db.selectFrom('users').select('id').where('email', '=', unknown).execute();
      assert.equal(created.length, 0);
    });

    test('email change: confirmation to the new address, notice to the old; nothing changes until the link is followed', async () => {
      const email = uniqueEmail('old');
      const next = uniqueEmail('new');
      const s = await signUp(call, email);
      assertError(
        await call('POST', `${AUTH}/email/change`, {
          token: s.access_token,
          body: { new_email: next, password: 'Not-The-Password-1' },
        }),
        422,
        'VALIDATION_ERROR',
        'wrong password',
      );
      const res = await call('POST', `${AUTH}/email/change`, {
        token: s.access_token,
        body: { new_email: next, password: PASSWORD },
      });
      assert.equal(res.status, 202, res.text);
      const notice = await mailTo(email, /being changed/i);
      assert.ok(notice.text.includes(next), 'the notice names the new address');
      assert.equal(
        notice.links.filter((l) => l.includes('token=')).length,
        0,
        'the old address gets no link',
      );
      const confirm = await mailTo(next, /confirm/i);
      assert.equal((await call('GET', `${AUTH}/me`, { token: s.access_token })).body.email, email);
      const link = confirm.links.find((l) => l.includes('/api/v1/auth/email/change/confirm'));
      assert.ok(link, JSON.stringify(confirm.links));
      const ok = await call('GET', pathOf(link));
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.user.email, next);
      assert.equal(ok.body.user.email_verified, true);
      await signIn(call, next);
      assertError(
        await call('POST', `${AUTH}/signin`, { body: { email, password: PASSWORD } }),
        401,
        'AUTHENTICATION_ERROR',
        'old address',
      );
      assertError(
        await call('POST', `${AUTH}/email/change/confirm`, { body: { token: tokenFrom(confirm) } }),
        401,
        'TOKEN_ERROR',
        'the link again',
      );
    });

    test('redirect URLs off REDIRECT_ALLOWLIST are refused (400) on every flow, and nothing is queued', async () => {
      const email = uniqueEmail('redir');
      const s = await signUp(call, email);
      const jobsBefore = await store.db.selectFrom('jobs').select('id').execute();
      const tokensBefore = await store.db.selectFrom('one_time_tokens').select('id').execute();
      const bad = [
        'https://evil.example.com/auth/',
        'https://app.example.com.evil.example/auth/',
        'https://app.example.com@evil.example/auth/',
        'https://app.example.com/authority',
        'https://app.example.com/',
        'http://app.example.com/auth/',
        'https://app.example.com:8443/auth/',
        'javascript:alert(1)//https://app.example.com/auth/',
        'https://app.example.com/auth/x#frag',
        '/auth/relative',
      ];
      for (const url of bad) {
        const tries: Array<[string, object, string?]> = [
          [`${AUTH}/magic-link`, { email, redirect_url: url }],
          [`${AUTH}/password/reset`, { email, redirect_url: url }],
          [`${AUTH}/email/resend`, { redirect_url: url }, s.access_token],
          [
            `${AUTH}/email/change`,
            { new_email: uniqueEmail('x'), password: PASSWORD, redirect_url: url },
            s.access_token,
          ],
        ];
        for (const [path, body, token] of tries)
          assertError(
            await call('POST', path, { body, ...(token ? { token } : {}) }),
            400,
            'BAD_REQUEST',
            `${path} ${url}`,
          );
      }
      assert.equal((await store.db.selectFrom('jobs').select('id').execute()).length, jobsBefore.length);
      assert.equal(
        (await store.db.selectFrom('one_time_tokens').select('id').execute()).length,
        tokensBefore.length,
      );
      // The other allow-listed origin, any path on it, is fine.
      const ok = await call('POST', `${AUTH}/magic-link`, {
        body: { email, redirect_url: 'https://other.example.org/any/where' },
      });
      assert.equal(ok.status, 202, ok.text);
    });

    test('bad tokens: malformed, unknown, cross-purpose — all the same 401', async () => {
      const email = uniqueEmail('cross');
      await signUp(call, email);
      const verify = tokenFrom(await mailTo(email, /confirm your email/i));
      for (const [path, body] of [
        [`${AUTH}/magic-link/verify`, { token: verify }],
        [`${AUTH}/password/reset/confirm`, { token: verify, new_password: NEW_PASSWORD }],
        [`${AUTH}/email/change/confirm`, { token: verify }],
        [`${AUTH}/email/verify`, { token: 'not-a-token' }],
        [`${AUTH}/email/verify`, { token: `${verify.slice(0, -2)}zz` }],
      ] as const)
        assertError(await call('POST', path, { body }), 401, 'TOKEN_ERROR', path);
      // Still good for its own purpose.
      const ok = await call('POST', `${AUTH}/email/verify`, { body: { token: verify } });
      assert.equal(ok.status, 200, ok.text);
    });
  });
}

for (const dialect of dialects()) flowSuite(dialect);
