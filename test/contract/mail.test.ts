/**
 * The mail subsystem on every dialect: a message and its send job exist exactly when the caller's transaction
 * commits; the mail.send handler delivers to a real SMTP server (smtp-server on loopback), is idempotent, records
 * failures without secrets and retries; without SMTP messages are kept and logged once; resend, listing filters,
 * retention cleanup; templates escape HTML and refuse bad links and recipients.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { signUp } from '../../src/core/auth/service.js';
import { SYSTEM_CONTEXT } from '../../src/core/events/events.js';
import { backoffMs } from '../../src/core/jobs/kinds.js';
import {
  cleanupMail,
  enqueueMail,
  getMail,
  listMail,
  MAIL_MAX_ATTEMPTS,
  MAIL_SEND_KIND,
  mailSendKind,
  presentMailFull,
  resendMail,
  sendTestMail,
} from '../../src/core/mail/index.js';
import { createMailer } from '../../src/core/mail/mailer.js';
import { MAIL_BACKOFF } from '../../src/core/mail/send-job.js';
import { type Job, jobs } from '../../src/core/store/repos/jobs.js';
import type { Store } from '../../src/core/store/store.js';
import { GOOD_PASSWORD, testContainer } from '../helpers/app.js';
import { dialects } from '../helpers/db.js';
import { type SmtpSink, startSmtpSink, tokenFrom } from '../helpers/smtp.js';

const DAY = 86_400_000;

async function count(store: Store, table: 'mail_messages' | 'jobs'): Promise<number> {
  const r = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

for (const dialect of dialects()) {
  describe(`mail (${dialect})`, () => {
    let t: Awaited<ReturnType<typeof testContainer>>;
    let sink: SmtpSink;
    before(async () => {
      sink = await startSmtpSink();
      t = await testContainer(dialect, {
        ...sink.env,
        PRODUCT_NAME: 'Acme <ID>',
        MAIL_FROM: 'Acme <auth@acme.test>',
      });
    });
    after(async () => {
      await t.close();
      await sink.close();
    });
    const jobOf = async (id: string): Promise<Job> => {
      const m = await getMail(t.c, id);
      return (await jobs.findById(t.c.store.db, m.jobId!))!;
    };

    it('a message and its send job exist exactly when the transaction that enqueued them committed', async () => {
      const [mails, queued] = [await count(t.c.store, 'mail_messages'), await count(t.c.store, 'jobs')];
      await assert.rejects(
        t.c.store.transaction(async (tx) => {
          await enqueueMail(tx, t.c, {
            to: 'rolled@example.com',
            template: 'magic_link',
            vars: { link: 'https://app.example.com/m?token=abc', expires_in: '15 minutes' },
          });
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      assert.equal(await count(t.c.store, 'mail_messages'), mails, 'no message after a rollback');
      assert.equal(await count(t.c.store, 'jobs'), queued, 'no job after a rollback');
      const { id } = await t.c.store.transaction((tx) =>
        enqueueMail(tx, t.c, {
          to: 'Kept@Example.com',
          template: 'magic_link',
          vars: { link: 'https://app.example.com/m?token=abc', expires_in: '15 minutes' },
        }),
      );
      const m = await getMail(t.c, id);
      assert.equal(m.status, 'queued');
      assert.equal(m.subject, 'Your Acme <ID> sign-in link');
      assert.match(m.text, /https:\/\/app\.example\.com\/m\?token=abc/);
      assert.match(m.text, /expires in 15 minutes/);
      const job = await jobOf(id);
      assert.equal(job.kind, MAIL_SEND_KIND);
      assert.equal(job.state, 'pending');
      assert.deepEqual(job.payload, { message_id: id });
      assert.equal(job.maxAttempts, MAIL_MAX_ATTEMPTS);
    });

    it('templates escape HTML, need an http(s) link, and refuse bad recipients', async () => {
      const { id } = await enqueueMail(t.c.store.db, t.c, {
        to: 'old@example.com',
        template: 'email_change_notice',
        vars: { new_email: '<script>alert(1)</script>@example.com' },
      });
      const m = await getMail(t.c, id);
      assert.ok(!m.html.includes('<script>'), 'the variable is escaped in HTML');
      assert.ok(m.html.includes('&lt;script&gt;'));
      assert.ok(m.html.includes('Acme &lt;ID&gt;'), 'the product name is escaped too');
      assert.ok(m.text.includes('<script>alert(1)</script>@example.com'), 'the text part is plain');
      await assert.rejects(
        enqueueMail(t.c.store.db, t.c, { to: 'a@example.com', template: 'password_reset', vars: {} }),
        /needs a link/,
      );
      await assert.rejects(
        enqueueMail(t.c.store.db, t.c, {
          to: 'a@example.com',
          template: 'password_reset',
          vars: { link: 'javascript:alert(1)' },
        }),
        /http/,
      );
      for (const to of ['not-an-email', 'a@example.com\r\nBcc: x@evil.test', '', `${'a'.repeat(250)}@x.io`])
        await assert.rejects(
          enqueueMail(t.c.store.db, t.c, { to, template: 'password_changed', vars: {} }),
          (e: Error & { code?: string }) => e.code === 'VALIDATION_ERROR',
        );
      await assert.rejects(
        // biome-ignore lint/suspicious/noExplicitAny: an unknown template from untyped code.
        enqueueMail(t.c.store.db, t.c, { to: 'a@example.com', template: 'nope' as any, vars: {} }),
        /unknown mail template/,
      );
    });

    it('mail.send delivers to the SMTP server once, with a stable Message-ID, and records it', async () => {
      const link = 'https://app.example.com/verify?token=tok-123';
      const { id } = await enqueueMail(t.c.store.db, t.c, {
        to: 'ada@example.com',
        template: 'verify_email',
        vars: { link, expires_in: '48 hours' },
      });
      const kind = mailSendKind(t.c, createMailer(t.c.config));
      const job = await jobOf(id);
      await kind.handle({ ...job, attempts: 1 }, { signal: new AbortController().signal });
      const got = await sink.waitFor((r) => r.to.includes('ada@example.com'));
      assert.equal(got.subject, 'Confirm your email address for Acme <ID>');
      assert.equal(tokenFrom(got), 'tok-123');
      assert.equal(got.messageId, `<${id}@acme.test>`);
      assert.equal(got.headers.get('auto-submitted'), 'auto-generated');
      assert.match(got.html, /href="https:\/\/app\.example\.com\/verify\?token=tok-123"/);
      const m = await getMail(t.c, id);
      assert.equal(m.status, 'sent');
      assert.ok(m.sentAt);
      // Delivered at least once: running the same job again (a node died before recording) sends nothing more.
      await kind.handle({ ...job, attempts: 2 }, { signal: new AbortController().signal });
      assert.equal(sink.to('ada@example.com').length, 1);
      const shown = presentMailFull(m);
      assert.deepEqual(shown.links, [link]);
      assert.equal(shown.headers['Message-ID'], `<${id}@acme.test>`);
    });

    it('an SMTP failure is recorded without secrets and retried; the last attempt marks it failed', async () => {
      const secretSink = await startSmtpSink({ auth: { user: 'janua', password: 'right-password' } });
      try {
        const cfg = { ...t.c.config, smtpUrl: `smtp://janua:wrong-s3cret-pw@127.0.0.1:${secretSink.port}` };
        const kind = mailSendKind(t.c, createMailer(cfg));
        const { id } = await sendTestMail(t.c, 'bob@example.com');
        const job = await jobOf(id);
        await assert.rejects(kind.handle({ ...job, attempts: 1 }, { signal: new AbortController().signal }));
        let m = await getMail(t.c, id);
        assert.equal(m.status, 'retrying');
        assert.equal(m.attempts, 1);
        assert.ok(m.lastError, 'the error is kept');
        assert.ok(!m.lastError.includes('wrong-s3cret-pw'), m.lastError);
        assert.match(m.lastError, /535|auth|login/i, 'the server refused the login');
        assert.deepEqual(
          (await listMail(t.c, { failed: true, limit: 100 })).map((x) => x.id),
          [id],
          '--failed lists it',
        );
        // The server is down altogether: still an error, still retrying.
        await secretSink.stop();
        await assert.rejects(kind.handle({ ...job, attempts: 2 }, { signal: new AbortController().signal }));
        assert.equal((await getMail(t.c, id)).status, 'retrying');
        await assert.rejects(
          kind.handle({ ...job, attempts: MAIL_MAX_ATTEMPTS }, { signal: new AbortController().signal }),
        );
        m = await getMail(t.c, id);
        assert.equal(m.status, 'failed');
        assert.equal(m.attempts, MAIL_MAX_ATTEMPTS);
        // An operator resend queues a fresh send, with its own Message-ID, that the good server receives.
        assert.deepEqual(await resendMail(t.c, id), { id, outcome: 'requeued' });
        m = await getMail(t.c, id);
        assert.equal(m.status, 'queued');
        assert.equal(m.resends, 1);
        assert.notEqual(m.jobId, job.id);
        await mailSendKind(t.c, createMailer(t.c.config)).handle(
          { ...(await jobOf(id)), attempts: 1 },
          { signal: new AbortController().signal },
        );
        const got = await sink.waitFor((r) => r.to.includes('bob@example.com'));
        assert.equal(got.messageId, `<${id}.1@acme.test>`);
        assert.equal((await getMail(t.c, id)).status, 'sent');
        // The superseded job, run late, sends nothing.
        await kind.handle({ ...job, attempts: 3 }, { signal: new AbortController().signal });
        assert.equal(sink.to('bob@example.com').length, 1);
      } finally {
        await secretSink.close();
      }
    });

    it('the backoff starts at seconds, is capped near a minute, and the attempts cover well over an hour', () => {
      assert.equal(
        backoffMs(MAIL_BACKOFF, 1, () => 1),
        2_000,
      );
      assert.ok(backoffMs(MAIL_BACKOFF, 20, () => 1) <= 60_000);
      let least = 0;
      for (let n = 1; n < MAIL_MAX_ATTEMPTS; n++) least += backoffMs(MAIL_BACKOFF, n, () => 0);
      assert.ok(least > 3_600_000, `the shortest retry schedule lasts ${least} ms`);
    });

    it('without SMTP, a message is kept and logged once with the command that shows it, never the link', async () => {
      const { logger, lines } = capturingLogger();
      const kind = mailSendKind({ ...t.c, logger }, null);
      const { id } = await enqueueMail(t.c.store.db, t.c, {
        to: 'newcomer@example.com',
        template: 'verify_email',
        vars: { link: 'https://app.example.com/verify?token=secret-token-xyz' },
      });
      const job = await jobOf(id);
      await kind.handle({ ...job, attempts: 1 }, { signal: new AbortController().signal });
      await kind.handle({ ...job, attempts: 2 }, { signal: new AbortController().signal });
      const about = lines.filter((l) => l['mail'] === id);
      assert.equal(about.length, 1, 'one line per message');
      assert.match(String(about[0]!['msg']), new RegExp(`janua mail show ${id}`));
      assert.ok(!JSON.stringify(lines).includes('secret-token-xyz'), 'the token is not logged');
      const m = await getMail(t.c, id);
      assert.equal(m.status, 'kept');
      assert.deepEqual(presentMailFull(m).links, ['https://app.example.com/verify?token=secret-token-xyz']);
      assert.equal(sink.to('newcomer@example.com').length, 0);
    });

    it("a user's messages go with the user", async () => {
      const s = await signUp(t.c, { email: 'gone@example.com', password: GOOD_PASSWORD }, SYSTEM_CONTEXT);
      const { id } = await enqueueMail(t.c.store.db, t.c, {
        to: 'gone@example.com',
        template: 'password_changed',
        vars: {},
        userId: s.user.id,
      });
      assert.equal((await getMail(t.c, id)).userId, s.user.id);
      await t.c.store.db.deleteFrom('users').where('id', '=', s.user.id).execute();
      await assert.rejects(getMail(t.c, id), (e: Error & { code?: string }) => e.code === 'NOT_FOUND_ERROR');
    });

    it('lists by recipient (any case) and cleans up messages past the retention', async () => {
      const mine = await listMail(t.c, { to: 'KEPT@example.COM', limit: 10 });
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.to, 'Kept@Example.com');
      const before = (await listMail(t.c, { limit: 1000 })).length;
      assert.ok(before > 0);
      const now = t.clock.now();
      assert.equal(await cleanupMail(t.c.store.db, new Date(now.getTime() + 6 * DAY), 7), 0);
      assert.equal(await cleanupMail(t.c.store.db, new Date(now.getTime() + 8 * DAY), 7), before);
      assert.equal((await listMail(t.c, { limit: 1000 })).length, 0);
    });
  });
}
