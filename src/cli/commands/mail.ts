import { type Command, InvalidArgumentError } from 'commander';
import {
  getMail,
  listMail,
  presentMail,
  presentMailFull,
  resendMail,
  sendTestMail,
  showCommand,
} from '../../core/mail/index.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { emitResult, type Io, table } from '../output.js';

const LIST_COLUMNS = ['id', 'to', 'template', 'status', 'attempts', 'created_at', 'last_error'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function limit(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected 1 to 10000');
  return n;
}

function mailId(id: string): string {
  if (!UUID.test(id)) throw new ExitWith(EXIT.USAGE, `error: "${id}" is not a mail message id`);
  return id.toLowerCase();
}

function showText(m: ReturnType<typeof presentMailFull>): string {
  const headers = Object.entries(m.headers).map(([k, v]) => `${k}: ${v}`);
  const status = [`Status: ${m.status}${m.attempts ? ` (${m.attempts} attempt(s))` : ''}`];
  if (m.last_error) status.push(`Last error: ${m.last_error}`);
  const links = m.links.length ? ['', 'Links:', ...m.links.map((l) => `  ${l}`)] : [];
  return [...headers, ...status, '', m.text.trimEnd(), ...links, ''].join('\n');
}

export function registerMail(program: Command, io: Io): void {
  const mail = program.command('mail').description('Outgoing mail: list, show, resend, send a test message');
  mail
    .command('list')
    .description('Messages, newest first')
    .option('--to <email>', 'only messages to this address')
    .option('--failed', 'only messages whose delivery failed (retrying or given up)')
    .option('--limit <n>', 'at most this many (default 100)', limit)
    .option('--json', 'print one JSON document: {messages: [...]}')
    .action(async (o: { to?: string; failed?: boolean; limit?: number; json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const rows = await listMail(c, { to: o.to, failed: o.failed, limit: o.limit ?? 100 });
        emitResult(io, o.json, { messages: rows.map(presentMail) }, (d) =>
          d.messages.length ? table(d.messages, LIST_COLUMNS) : 'no messages match\n',
        );
      });
    });
  mail
    .command('show <id>')
    .description('One message: headers, text body and the links in it')
    .option('--json', 'print one JSON document')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const wanted = mailId(id);
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        emitResult(io, o.json, presentMailFull(await getMail(c, wanted)), showText);
      });
    });
  mail
    .command('resend <id>')
    .description('Send a message again (a message waiting for a retry is tried now)')
    .option('--json', 'print one JSON document: {id, outcome}')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      const wanted = mailId(id);
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const r = await resendMail(c, wanted);
        emitResult(io, o.json, r, (d) =>
          d.outcome === 'requeued'
            ? `queued ${d.id} to be sent again\n`
            : d.outcome === 'hurried'
              ? `retrying ${d.id} now\n`
              : `${d.id} is already waiting to be sent\n`,
        );
      });
    });
  mail
    .command('test')
    .description('Queue a test message, to check the SMTP settings (the running daemon sends it)')
    .requiredOption('--to <email>', 'recipient')
    .option('--json', 'print one JSON document: {id}')
    .action(async (o: { to: string; json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const r = await sendTestMail(c, o.to);
        emitResult(
          io,
          o.json,
          r,
          (d) =>
            `queued test message ${d.id}; see its status with: janua mail list --to ${o.to} (or ${showCommand(d.id)})\n`,
        );
      });
    });
}
