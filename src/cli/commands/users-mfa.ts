/** `janua users mfa-reset`: an administrator's recovery when a user lost their authenticator (docs/mfa.md). */
import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { resetMfa } from '../../core/mfa/admin.js';
import { getUser } from '../../core/users/admin-list.js';
import { confirmOnTty, needsConfirmation } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io } from '../output.js';

export function registerUserMfa(users: Command, io: Io): void {
  users
    .command('mfa-reset <user>')
    .description(
      "Remove a user's two-factor authentication (TOTP factor and backup codes) and revoke every session of the user; audited, `security.mfa.disabled` is emitted. The user signs in with the password alone and may enrol again.",
    )
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (who: string, o: { yes?: boolean; json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const user = await getUser(c, who, CLI_CONTEXT);
        if (needsConfirmation(o.yes, 'reset two-factor authentication'))
          await confirmOnTty(
            `Remove two-factor authentication of ${user.email} (${user.id}) and sign them out?`,
          );
        const r = await resetMfa(c, user.id, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          {
            user_id: user.id,
            email: user.email,
            mfa_removed: r.hadFactor,
            sessions_revoked: r.sessionsRevoked,
          },
          (d) =>
            `${d.email}: ${d.mfa_removed ? 'two-factor authentication removed' : 'had no active factor; nothing to remove'}; ${d.sessions_revoked} session(s) revoked\n`,
        );
      });
    });
}
