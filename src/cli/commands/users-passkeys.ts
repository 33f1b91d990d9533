/**
 * `janua users passkeys list|remove USER [ID]`: an operator's view of a user's passkeys, and removal (one, or
 * all of them for a lost device) without the user's password — audited as the operator's, with
 * `security.passkey.removed` for each.
 */
import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { adminListPasskeys, adminRemovePasskeys, presentPasskey } from '../../core/passkeys/manage.js';
import { confirmOnTty, needsConfirmation } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io, table } from '../output.js';

type Json = { json?: boolean };

export function registerUserPasskeys(users: Command, io: Io): void {
  const pk = users.command('passkeys').description("A user's passkeys (WebAuthn credentials)");

  pk.command('list <user>')
    .description('List the passkeys of a user (id or email), oldest first')
    .option('--json', 'print one JSON document (an array, as the API answers)')
    .action(async (who: string, o: Json, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const r = await adminListPasskeys(c, who, CLI_CONTEXT);
        emitResult(io, o.json, r.passkeys.map(presentPasskey), (d) =>
          table(d, ['id', 'name', 'device_type', 'backed_up', 'sign_count', 'created_at', 'last_used_at']),
        );
      });
    });

  pk.command('remove <user> [id]')
    .description('Remove one passkey of a user, or without ID every one of them (no password asked; audited)')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (who: string, id: string | undefined, o: Json & { yes?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        if (needsConfirmation(o.yes, 'remove passkeys')) {
          const { user } = await adminListPasskeys(c, who, CLI_CONTEXT);
          await confirmOnTty(`Remove ${id ? `passkey ${id}` : 'every passkey'} of ${user.email}?`);
        }
        const r = await adminRemovePasskeys(c, who, id, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { user_id: r.user.id, removed: r.removed },
          (d) => `${r.user.email}: ${d.removed.length} passkey(s) removed\n`,
        );
      });
    });
}
