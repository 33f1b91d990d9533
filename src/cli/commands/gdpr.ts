/**
 * `janua gdpr`: data-subject requests from the operator's side. `export` lives in ./gdpr-export.ts; erasure
 * (`erase`, `requests`, `cancel`) here. Each is a thin front door onto core/gdpr; the CLI acts as an operator
 * (`cli` actor), so it may act on any user and execute an erasure at once.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import {
  cancelErasure,
  type ErasureRequestResult,
  listErasureRequests,
  type PublicErasureRequest,
  REQUEST_STATUSES,
  type RequestStatus,
  requestErasure,
} from '../../core/gdpr/erasure-requests.js';
import { findUser } from '../../core/users/service.js';
import { confirmOnTty, needsConfirmation } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io, table } from '../output.js';

type Json = { json?: boolean };

function statusArg(v: string): RequestStatus {
  if (!(REQUEST_STATUSES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${REQUEST_STATUSES.join(', ')}`);
  return v as RequestStatus;
}

function describeResult(r: ErasureRequestResult): string {
  if (r.receipt) {
    const rows = Object.values(r.receipt.steps).reduce((a, b) => a + b, 0);
    return `erased; ${rows} row(s) removed or anonymized; receipt ${r.receipt.id} (subject ${r.receipt.subject})\n`;
  }
  return `erasure requested (${r.request.id}); due ${r.request.due_at}; cancel with: janua gdpr cancel ${r.request.user_id}\n`;
}

const requestRow = (r: PublicErasureRequest) => ({
  id: r.id,
  user: r.user_id,
  status: r.status,
  due: r.due_at,
  requested_by: r.requested_by_type,
  created: r.created_at,
  last_error: r.last_error,
});

/** Registers the `gdpr` group and returns it, so the export commands can add themselves to it. */
export function registerGdpr(program: Command, io: Io): Command {
  const run = <T>(cmd: Command, fn: (c: Parameters<Parameters<typeof withContainer>[3]>[0]) => Promise<T>) =>
    withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, fn);
  const gdpr = program
    .command('gdpr')
    .description('GDPR requests: export a user’s data, erase a user, list and cancel pending erasures');

  gdpr
    .command('erase <user>')
    .description(
      'Erase a user (id or email) everywhere: after the grace period (GDPR_ERASURE_GRACE_DAYS), or --now',
    )
    .option('--now', 'erase at once instead of filing a request that waits out the grace period')
    .option('--reason <text>', 'why (kept on the request; removed when it executes)')
    .option('-y, --yes', 'do not ask for confirmation (required with --now without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (who: string, o: Json & { now?: boolean; yes?: boolean; reason?: string }, cmd: Command) =>
      run(cmd, async (c) => {
        if (o.now && needsConfirmation(o.yes, 'erase this user now')) {
          const u = await findUser(c, who);
          await confirmOnTty(`Erase ${u.email} (${u.id}) now, irreversibly?`);
        }
        const r = await requestErasure(c, who, { immediate: o.now, reason: o.reason }, CLI_CONTEXT);
        emitResult(io, o.json, r, describeResult);
      }),
    );

  gdpr
    .command('requests')
    .description('Erasure requests, due first (pending ones show when they run and why one is blocked)')
    .option('--status <status>', `only this status: ${REQUEST_STATUSES.join('|')}`, statusArg)
    .option('--user <user>', 'only this user’s (id or email)')
    .option('--json', 'print one JSON document')
    .action(async (o: Json & { status?: RequestStatus; user?: string }, cmd: Command) =>
      run(cmd, async (c) => {
        const list = await listErasureRequests(c, { status: o.status, user: o.user }, CLI_CONTEXT);
        emitResult(io, o.json, { data: list }, (d) =>
          d.data.length
            ? table(d.data.map(requestRow), Object.keys(requestRow(d.data[0]!)))
            : 'no requests\n',
        );
      }),
    );

  gdpr
    .command('cancel <user>')
    .description('Cancel the pending erasure request of a user (id or email)')
    .option('--json', 'print one JSON document')
    .action(async (who: string, o: Json, cmd: Command) =>
      run(cmd, async (c) => {
        const r = await cancelErasure(c, who, CLI_CONTEXT);
        emitResult(io, o.json, { request: r }, (d) => `cancelled erasure request ${d.request.id}\n`);
      }),
    );

  return gdpr;
}
