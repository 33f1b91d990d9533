/**
 * A real SMTP server for tests (the `smtp-server` package) on a loopback port, collecting every message it
 * accepts, parsed with `mailparser`. Point a daemon at it with `sink.env` (SMTP_URL); `stop()` and `start()`
 * take it down and bring it back on the same port, for the "SMTP server down" cases.
 *
 *   const sink = await startSmtpSink();
 *   const daemon = await startDaemon({ databaseUrl, env: { ...sink.env } });
 *   const mail = await sink.waitFor((m) => m.to.includes('ada@example.com'));
 *   const token = tokenFrom(mail);            // the `token` query parameter of its first link
 *   await sink.close();
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { until } from './until.js';

export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  /** Envelope sender (MAIL FROM). */
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** Header lines as parsed (lower-case names). */
  headers: ParsedMail['headers'];
  /** http(s) links in the text part, in order. */
  links: string[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  /** Environment for a daemon or CLI to deliver here. */
  env: { SMTP_URL: string };
  /** Every accepted message, in arrival order. */
  messages: ReceivedMail[];
  /** Waits for a message matching `pred` (default 20 s), returning the first that does. */
  waitFor(pred: (m: ReceivedMail) => boolean, ms?: number): Promise<ReceivedMail>;
  /** The messages sent to `address` (case-insensitive). */
  to(address: string): ReceivedMail[];
  /** Stops listening (connections are refused) until `start()`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const LINK = /https?:\/\/[^\s<>"')\]]+/g;

/** The http(s) links in a text. */
export function extractLinks(text: string): string[] {
  return text.match(LINK) ?? [];
}

/** The `token` query parameter of a message's first link that has one. */
export function tokenFrom(mail: Pick<ReceivedMail, 'links'>, param = 'token'): string {
  for (const link of mail.links) {
    const v = new URL(link).searchParams.get(param);
    if (v) return v;
  }
  throw new Error(`no link with a ${param} parameter in ${JSON.stringify(mail.links)}`);
}

function newServer(messages: ReceivedMail[], auth?: { user: string; password: string }): SMTPServer {
  return new SMTPServer({
    secure: false,
    // Plain SMTP on loopback: nodemailer's opportunistic STARTTLS then stays in clear text.
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !auth,
    allowInsecureAuth: true,
    logger: false,
    closeTimeout: 1000,
    onAuth(a, _session, cb) {
      if (auth && a.username === auth.user && a.password === auth.password) cb(null, { user: a.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (p) => {
            const text = p.text ?? '';
            messages.push({
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: p.subject ?? '',
              text,
              html: typeof p.html === 'string' ? p.html : '',
              messageId: p.messageId ?? '',
              headers: p.headers,
              links: extractLinks(text),
              raw,
            });
            cb();
          },
          (err: Error) => cb(err),
        );
      });
    },
  });
}

function listen(server: SMTPServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Starts a sink on a free loopback port (or `port`); with `auth`, clients must log in with it. */
export async function startSmtpSink(
  opts: { port?: number; auth?: { user: string; password: string } } = {},
): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let server: SMTPServer | null = newServer(messages, opts.auth);
  const port = await listen(server, opts.port ?? 0);
  const cred = opts.auth
    ? `${encodeURIComponent(opts.auth.user)}:${encodeURIComponent(opts.auth.password)}@`
    : '';
  const sink: SmtpSink = {
    port,
    env: { SMTP_URL: `smtp://${cred}127.0.0.1:${port}` },
    messages,
    async waitFor(pred, ms = 20_000) {
      let found: ReceivedMail | undefined;
      await until(
        async () => {
          found = messages.find(pred);
          return found !== undefined;
        },
        ms,
        'a matching message at the SMTP sink',
      );
      return found!;
    },
    to(address) {
      const a = address.toLowerCase();
      return messages.filter((m) => m.to.includes(a));
    },
    async stop() {
      if (!server) return;
      const s = server;
      server = null;
      await closeServer(s);
    },
    async start() {
      if (server) return;
      server = newServer(messages, opts.auth);
      await listen(server, port);
    },
    async close() {
      await sink.stop();
    },
  };
  return sink;
}
