import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { presentUser } from '../../core/users/model.js';
import { createUser, unlockUser } from '../../core/users/service.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io } from '../output.js';

/** Reads a password from stdin: the whole input, without its final newline (so `echo pw |` works). */
export async function passwordFromStdin(io: Io): Promise<string> {
  const text = await io.readStdin();
  return text.replace(/\r?\n$/, '');
}

export function registerUsers(program: Command, io: Io): void {
  const users = program.command('users').description('User administration (works with the daemon stopped)');
  users
    .command('create')
    .description('Create a user (e.g. the first admin)')
    .requiredOption('--email <email>', 'email address')
    .option('--first-name <name>')
    .option('--last-name <name>')
    .option('--password-stdin', 'read the password from standard input')
    .option('--admin', 'make the user a platform admin')
    .option('--verified', 'mark the email address verified')
    .option('--json', 'print one JSON document')
    .action(
      async (
        opts: {
          email: string;
          firstName?: string;
          lastName?: string;
          passwordStdin?: boolean;
          admin?: boolean;
          verified?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const password = opts.passwordStdin ? await passwordFromStdin(io) : undefined;
        await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
          const user = await createUser(
            c,
            {
              email: opts.email,
              password,
              firstName: opts.firstName,
              lastName: opts.lastName,
              isAdmin: !!opts.admin,
              emailVerified: !!opts.verified,
            },
            CLI_CONTEXT,
          );
          emitResult(
            io,
            opts.json,
            presentUser(user),
            (u) =>
              `created ${u.is_admin ? 'admin ' : ''}user ${u.email} (${u.id})${password ? '' : ' without a password'}\n`,
          );
        });
      },
    );
  users
    .command('unlock <user>')
    .description('Lift a sign-in lockout (user id or email)')
    .option('--json', 'print one JSON document')
    .action(async (who: string, opts: { json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const r = await unlockUser(c, who, CLI_CONTEXT);
        emitResult(
          io,
          opts.json,
          { user: presentUser(r.user), was_locked: r.wasLocked },
          (d) => `${d.user.email}: ${d.was_locked ? 'unlocked' : 'was not locked; failure count reset'}\n`,
        );
      });
    });
}
