/**
 * Mail on the spawned daemon with a real SMTP server (smtp-server on loopback): a queued message is delivered;
 * with the server down the command that queued it still succeeds, the message shows under `janua mail list
 * --failed`, and it is sent once the server is back; a `kill -9` of the daemon after the commit and before the
 * send loses nothing; without SMTP the daemon logs one line naming `janua mail show ID`, which shows the link.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config/load.js';
import { enqueueMail } from '../../src/core/mail/index.js';
import { mailMessages } from '../../src/core/store/repos/mail.js';
import { createTestDatabase, dialects, type TestDatabase } from '../helpers/db.js';
import { type Daemon, newMasterKey, runCli, startDaemon } from '../helpers/janua.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp.js';
import { until } from '../helpers/until.js';
import { openStore, uniqueEmail } from './support.js';

interface Listed {
  id: string;
  to: string;
  status: string;
  attempts: number;
  last_error: string | null;
}

for (const dialect of dialects()) {
  describe(`mail through janua serve (${dialect})`, () => {
    let db: TestDatabase;
    let sink: SmtpSink;
    let d: Daemon;
    let env: Record<string, string>;
    before(async () => {
      db = await createTestDatabase(dialect);
      sink = await startSmtpSink();
      env = {
        DATABASE_URL: db.url,
        JANUA_MASTER_KEY: newMasterKey(),
        MAIL_FROM: 'Janua <auth@janua.test>',
        JOBS_POLL_INTERVAL_MS: '200',
        ...sink.env,
      };
      d = await startDaemon({ databaseUrl: db.url, env });
    });
    after(async () => {
      await d.stop();
      await sink.close();
      await db.drop();
    });

    const cli = (args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { env: { ...env, JANUA_DATA_DIR: d.env['JANUA_DATA_DIR']!, ...extra } });
    const list = async (args: string[] = []): Promise<Listed[]> => {
      const r = await cli(['mail', 'list', '--json', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { messages: Listed[] }).messages;
    };
    const queueTest = async (to: string): Promise<string> => {
      const r = await cli(['mail', 'test', '--to', to, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { id: string }).id;
    };
    // Polls read the table directly (a CLI run per poll is slow on a busy machine); the CLI is checked once.
    const statusOf = async (id: string) => {
      const store = openStore(db.url);
      try {
        return (await mailMessages.findById(store.db, id))?.status;
      } finally {
        await store.destroy();
      }
    };

    test('a queued message is delivered to the SMTP server and shown as sent', async () => {
      const to = uniqueEmail('deliver');
      const id = await queueTest(to);
      const got = await sink.waitFor((m) => m.to.includes(to));
      assert.equal(got.subject, 'Janua test message');
      assert.equal(got.messageId, `<${id}@janua.test>`);
      await until(async () => (await statusOf(id)) === 'sent', 10_000, 'status sent');
      const shown = await cli(['mail', 'show', id]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`Message-ID: <${id}@janua\\.test>`));
      assert.match(shown.stdout, /Status: sent/);
      // Exit codes as for `janua jobs`: 4 for an unknown message, 2 for what is not an id or an address.
      assert.equal((await cli(['mail', 'show', '00000000-0000-4000-8000-000000000000'])).code, 4);
      assert.equal((await cli(['mail', 'resend', 'not-an-id'])).code, 2);
      assert.equal((await cli(['mail', 'test', '--to', 'not-an-address'])).code, 2);
      const listed = await list(['--to', to.toUpperCase()]);
      assert.deepEqual(
        listed.map((m) => m.id),
        [id],
      );
    });

    test('with the SMTP server down the command still succeeds, and the message is sent once it is back', async () => {
      await sink.stop();
      const to = uniqueEmail('down');
      const id = await queueTest(to);
      await until(
        async () => (await list(['--failed'])).some((m) => m.id === id),
        20_000,
        'listed as failed',
      );
      const failed = (await list(['--failed'])).find((m) => m.id === id)!;
      assert.equal(failed.status, 'retrying');
      assert.ok(failed.last_error);
      await sink.start();
      // Backoff is capped at 60 s, so the next attempt comes within a minute of the server's return.
      await sink.waitFor((m) => m.to.includes(to), 90_000);
      await until(async () => (await statusOf(id)) === 'sent', 10_000, 'status sent');
      assert.equal((await list(['--failed'])).filter((m) => m.id === id).length, 0);
    });

    test('a kill -9 between the commit and the send loses nothing: the restarted daemon sends it', async () => {
      await sink.stop();
      const to = uniqueEmail('kill9');
      const id = await queueTest(to);
      await until(async () => (await statusOf(id)) === 'retrying', 20_000, 'a failed attempt');
      assert.equal(await d.stop('SIGKILL'), null);
      // Committed while no daemon runs at all: also kept for the next one.
      const to2 = uniqueEmail('kill9-offline');
      const id2 = await queueTest(to2);
      await sink.start();
      d = await startDaemon({ databaseUrl: db.url, env });
      await sink.waitFor((m) => m.to.includes(to), 90_000);
      await sink.waitFor((m) => m.to.includes(to2), 30_000);
      await until(
        async () => (await statusOf(id)) === 'sent' && (await statusOf(id2)) === 'sent',
        10_000,
        'both sent',
      );
      assert.equal(sink.to(to).length, 1);
      assert.equal(sink.to(to2).length, 1);
    });

    test('without SMTP the daemon logs one line naming janua mail show, which shows the link', async () => {
      await d.stop();
      const bare = await startDaemon({
        databaseUrl: db.url,
        env: { ...env, SMTP_URL: undefined, JANUA_BASE_URL: 'https://id.example.com' },
      });
      const store = openStore(db.url);
      try {
        const to = uniqueEmail('newcomer');
        const link = 'https://app.example.com/verify?token=Zm9vYmFyLXNlY3JldC10b2tlbg';
        const { id } = await store.transaction((tx) =>
          enqueueMail(
            tx,
            { store, clock: systemClock, config: loadConfig({ env: { ...env, SMTP_URL: '' } }) },
            { to, template: 'verify_email', vars: { link, expires_in: '48 hours' } },
          ),
        );
        await until(
          async () => bare.stdout.some((l) => l.includes(`janua mail show ${id}`)),
          20_000,
          'the kept-mail log line',
        );
        const lines = bare.stdout.filter((l) => l.includes(id));
        assert.equal(lines.length, 1, lines.join('\n'));
        assert.ok(!bare.stdout.join('\n').includes('Zm9vYmFyLXNlY3JldC10b2tlbg'), 'the token is not logged');
        const shown = await runCli(['mail', 'show', id], {
          env: { ...env, JANUA_DATA_DIR: bare.env['JANUA_DATA_DIR']! },
        });
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /Status: kept/);
        assert.ok(shown.stdout.includes(`Links:\n  ${link}`), shown.stdout);
        assert.equal(sink.to(to).length, 0);
      } finally {
        await store.destroy();
        await bare.stop();
        d = await startDaemon({ databaseUrl: db.url, env });
      }
    });
  });
}
