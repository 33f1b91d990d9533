/**
 * `janua audit list|export`: the audit trail from the operator's side (core/admin/audit-log.ts). `list` is one
 * page (newest first, like `GET /api/v1/audit-logs`); `export` streams every matching event as NDJSON, oldest
 * first, from the core's keyset generator, so memory stays flat for millions of rows.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AuditPage,
  type AuditQuery,
  listAuditEvents,
  MAX_PER_PAGE,
  type PublicAuditEvent,
  streamAuditEvents,
} from '../../core/admin/audit-log.js';
import type { Container } from '../../core/container.js';
import { findUser } from '../../core/users/service.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { int } from '../options.js';
import { emitResult, type Io, table } from '../output.js';
import { parseTimeArg } from '../time-arg.js';

interface FilterOptions {
  user?: string;
  action?: string;
  outcome?: 'success' | 'failure';
  since?: Date;
  until?: Date;
}

function time(v: string): Date {
  return parseTimeArg(v);
}

function action(v: string): string {
  if (v.length === 0 || v.length > 128) throw new InvalidArgumentError('expected 1 to 128 characters');
  return v;
}

function withFilterOptions(cmd: Command): Command {
  return cmd
    .option(
      '--user <id|email>',
      "events where this user is the actor or the target (an email is looked up; an erased user's pseudonym works as an id)",
    )
    .option('--action <action>', 'exact action, or a prefix ending in . or * (auth. or auth.*)', action)
    .addOption(new Option('--outcome <outcome>', 'success or failure').choices(['success', 'failure']))
    .option('--since <time>', 'from this time, inclusive (ISO 8601, or a span back from now: 24h, 7d)', time)
    .option('--until <time>', 'before this time, exclusive (ISO 8601 or a span: 1h)', time);
}

/** The core query of the options. An email is resolved to the user's id (404 when unknown). */
async function queryOf(c: Container, o: FilterOptions): Promise<AuditQuery> {
  let userId = o.user;
  if (userId?.includes('@')) userId = (await findUser(c, userId)).id;
  return { userId, action: o.action, outcome: o.outcome, since: o.since, until: o.until };
}

function human(p: AuditPage): string {
  const rows = p.items.map((e: PublicAuditEvent) => ({
    occurred_at: e.occurred_at,
    action: e.action,
    outcome: e.outcome,
    actor: e.actor_id ?? e.actor_type,
    target: e.target_id ? `${e.target_type ?? '?'}:${e.target_id}` : null,
    ip: e.ip,
  }));
  const pages = Math.max(1, Math.ceil(p.total / p.per_page));
  return `${table(rows, ['occurred_at', 'action', 'outcome', 'actor', 'target', 'ip'])}page ${p.page} of ${pages} (${p.total} events)\n`;
}

/** Writes `text` to the file stream, waiting when its buffer is full (backpressure). */
async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export function registerAudit(program: Command, io: Io): Command {
  const audit = program
    .command('audit')
    .description('The audit trail: list and filter it, export it as NDJSON');

  withFilterOptions(audit.command('list').description('Audit events, newest first, one page at a time'))
    .option('--page <n>', 'page number, from 1', int(1, 1_000_000))
    .option('--per-page <n>', `events per page, 1 to ${MAX_PER_PAGE} (default 50)`, int(1, MAX_PER_PAGE))
    .option('--json', 'print one JSON document ({items, total, page, per_page})')
    .action(
      async (opts: FilterOptions & { page?: number; perPage?: number; json?: boolean }, cmd: Command) => {
        await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
          const q = await queryOf(c, opts);
          const page = await listAuditEvents(c, { ...q, page: opts.page, perPage: opts.perPage });
          emitResult(io, opts.json, page, human);
        });
      },
    );

  withFilterOptions(
    audit
      .command('export')
      .description('Every matching audit event as NDJSON (one JSON object per line), oldest first'),
  )
    .option('--out <file>', 'write to this file (created or truncated) instead of stdout')
    .action(async (opts: FilterOptions & { out?: string }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const events = streamAuditEvents(c, await queryOf(c, opts));
        const file = opts.out === undefined ? null : createWriteStream(opts.out, { flags: 'w' });
        let count = 0;
        try {
          // Lines are written a batch at a time: one write per row costs more than the query.
          let chunk = '';
          for await (const e of events) {
            chunk += `${JSON.stringify(e)}\n`;
            count++;
            if (count % 1000 === 0) {
              if (file) await write(file, chunk);
              else io.out(chunk);
              chunk = '';
            }
          }
          if (chunk) {
            if (file) await write(file, chunk);
            else io.out(chunk);
          }
        } finally {
          if (file) {
            file.end();
            await once(file, 'close');
          }
        }
        io.err(`exported ${count} audit event(s)${opts.out === undefined ? '' : ` to ${opts.out}`}\n`);
      });
    });
  return audit;
}
