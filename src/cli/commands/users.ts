import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Container } from '../../core/container.js';
import { JanuaError, notFound } from '../../core/errors.js';
import { CLI_CONTEXT } from '../../core/events/events.js';
import {
  deleteUser,
  getUser,
  type ImportItem,
  importUsers,
  listUserSessions,
  listUsers,
  lockUser,
  presentSession,
  presentUserPage,
  reactivateUser,
  revokeUserSessions,
  setUserPassword,
  suspendUser,
  unlockUserOrEmail,
  updateUser,
} from '../../core/users/admin.js';
import { readImportRecords } from '../../core/users/import-format.js';
import { type PublicUser, presentUser } from '../../core/users/model.js';
import { createUser } from '../../core/users/service.js';
import { confirmOnTty, needsConfirmation } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { int } from '../options.js';
import { emitResult, type Io, table } from '../output.js';
import { registerUserMfa } from './users-mfa.js';
import { registerUserPasskeys } from './users-passkeys.js';

/** Reads a password from stdin: the whole input, without its final newline (so `echo pw |` works). */
export async function passwordFromStdin(io: Io): Promise<string> {
  const text = await io.readStdin();
  return text.replace(/\r?\n$/, '');
}

const LIST_COLUMNS = [
  'id',
  'email',
  'name',
  'status',
  'is_admin',
  'email_verified',
  'created_at',
  'last_sign_in_at',
];

function describeUser(u: PublicUser): string {
  const rows: Array<[string, unknown]> = [
    ['id', u.id],
    ['email', u.email],
    ['name', u.name],
    ['status', u.status],
    ['admin', u.is_admin],
    ['email verified', u.email_verified],
    ['mfa', u.mfa_enabled],
    ['created', u.created_at],
    ['updated', u.updated_at],
    ['last sign-in', u.last_sign_in_at],
  ];
  return `${rows.map(([k, v]) => `${`${k}:`.padEnd(16)}${v ?? '-'}`).join('\n')}\n`;
}

type Json = { json?: boolean };

export function registerUsers(program: Command, io: Io): void {
  const users = program.command('users').description('User administration (works with the daemon stopped)');
  /** Runs an action with the container, the command's options and its global options. */
  const run =
    <A extends unknown[]>(fn: (c: Container, ...args: A) => Promise<void>) =>
    async (...args: [...A, Command]) => {
      const cmd = args.at(-1) as Command;
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, (c) =>
        fn(c, ...(args.slice(0, -1) as A)),
      );
    };

  users
    .command('list')
    .description('List users: prefix search on email/first/last name, filters, paging')
    .option('--search <prefix>', 'email, first-name or last-name prefix (case-insensitive)')
    .option('--status <status>', 'active | suspended | deleted')
    .option('--org <org>', 'only members of this organization (id or slug)')
    .option('--sort <sort>', 'created_at | -created_at | email | -email | last_sign_in_at | -last_sign_in_at')
    .option('--page <n>', 'page number, from 1', int(1, 1_000_000))
    .option('--per-page <n>', 'users per page, 1 to 100 (default 20)', int(1, 100))
    .option('--json', 'print one JSON document: {users, total, page, per_page, pages}')
    .action(
      run(
        async (
          c,
          o: Json & {
            search?: string;
            status?: string;
            org?: string;
            sort?: string;
            page?: number;
            perPage?: number;
          },
        ) => {
          const page = await listUsers(
            c,
            {
              search: o.search,
              status: o.status,
              organization: o.org,
              sort: o.sort,
              page: o.page,
              perPage: o.perPage,
            },
            CLI_CONTEXT,
          );
          emitResult(io, o.json, presentUserPage(page), (d) =>
            d.total
              ? `${table(d.users, LIST_COLUMNS)}page ${d.page} of ${d.pages} (${d.total} users)\n`
              : 'no users match\n',
          );
        },
      ),
    );

  users
    .command('get <user>')
    .description('Show one user (id or email)')
    .option('--json', 'print one JSON document (the API user object)')
    .action(
      run(async (c, who: string, o: Json) => {
        emitResult(io, o.json, presentUser(await getUser(c, who, CLI_CONTEXT)), describeUser);
      }),
    );

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
        opts: Json & {
          email: string;
          firstName?: string;
          lastName?: string;
          passwordStdin?: boolean;
          admin?: boolean;
          verified?: boolean;
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
    .command('update <user>')
    .description('Change a user: email, names, admin flag, email verification')
    .option('--email <email>', 'new email address (must be unused)')
    .option('--first-name <name>')
    .option('--last-name <name>')
    .option('--admin', 'make a platform admin')
    .option('--no-admin', 'remove the platform admin role')
    .option('--verified', 'mark the email address verified')
    .option('--no-verified', 'mark the email address unverified')
    .option('--json', 'print one JSON document (the API user object)')
    .action(
      run(
        async (
          c,
          who: string,
          o: Json & {
            email?: string;
            firstName?: string;
            lastName?: string;
            admin?: boolean;
            verified?: boolean;
          },
        ) => {
          const patch = {
            email: o.email,
            firstName: o.firstName,
            lastName: o.lastName,
            isAdmin: o.admin,
            emailVerified: o.verified,
          };
          if (Object.values(patch).every((v) => v === undefined))
            throw new JanuaError('BAD_REQUEST', 'nothing to change: give at least one option (see --help)');
          const user = await updateUser(c, who, patch, CLI_CONTEXT);
          emitResult(io, o.json, presentUser(user), (u) => `updated ${u.email} (${u.id})\n`);
        },
      ),
    );

  users
    .command('delete <user>')
    .description(
      'Deactivate a user (status deleted, every session revoked; `reactivate` undoes it). --hard deletes for good.',
    )
    .option(
      '--hard',
      'delete the user and everything that hangs off it (refused while sole owner of an organization)',
    )
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(
      run(async (c, who: string, o: Json & { hard?: boolean; yes?: boolean }) => {
        const what = o.hard ? 'delete this user for good' : 'deactivate this user';
        if (needsConfirmation(o.yes, what)) {
          const u = await getUser(c, who, CLI_CONTEXT);
          await confirmOnTty(`${o.hard ? 'Permanently delete' : 'Deactivate'} ${u.email} (${u.id})?`);
        }
        const d = await deleteUser(c, who, { hard: o.hard }, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { id: d.user.id, email: d.user.email, hard: d.hard, sessions_revoked: d.sessionsRevoked },
          (r) =>
            `${r.hard ? 'deleted' : 'deactivated'} ${r.email} (${r.id}); ${r.sessions_revoked} session(s) revoked\n`,
        );
      }),
    );

  for (const [name, fn, description] of [
    ['suspend', suspendUser, 'Suspend a user: sign-in refused, every session revoked at once'],
    ['reactivate', reactivateUser, 'Make a suspended or deactivated user active again'],
  ] as const) {
    users
      .command(`${name} <user>`)
      .description(description)
      .option('--json', 'print one JSON document')
      .action(
        run(async (c, who: string, o: Json) => {
          const r = await fn(c, who, CLI_CONTEXT);
          emitResult(
            io,
            o.json,
            { user: presentUser(r.user), sessions_revoked: r.sessionsRevoked },
            (d) => `${d.user.email}: ${d.user.status}; ${d.sessions_revoked} session(s) revoked\n`,
          );
        }),
      );
  }

  users
    .command('lock <user>')
    .description('Lock sign-in for a while (the same lock that failed attempts set)')
    .option('--minutes <n>', 'how long (default: the lockout duration)', int(1, 525_600))
    .option('--json', 'print one JSON document')
    .action(
      run(async (c, who: string, o: Json & { minutes?: number }) => {
        const r = await lockUser(c, who, { minutes: o.minutes }, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { user: presentUser(r.user), locked_until: r.lockedUntil.toISOString() },
          (d) => `${d.user.email}: sign-in locked until ${d.locked_until}\n`,
        );
      }),
    );

  users
    .command('unlock <user>')
    .description(
      'Lift a sign-in lockout (user id or email). An email with no account is locked like a real one; giving it lifts that lockout too.',
    )
    .option('--json', 'print one JSON document')
    .action(
      run(async (c, who: string, o: Json) => {
        const r = await unlockUserOrEmail(c, who, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { user: r.user && presentUser(r.user), email: r.email, was_locked: r.wasLocked },
          (d) =>
            `${d.email}: ${d.user ? '' : 'no account; '}${d.was_locked ? 'unlocked' : 'was not locked; failure count reset'}\n`,
        );
      }),
    );

  users
    .command('set-password <user>')
    .description('Set a new password, read from standard input; every session of the user is revoked')
    .requiredOption('--password-stdin', 'read the password from standard input (required)')
    .option('--json', 'print one JSON document')
    .action(async (who: string, o: Json, cmd: Command) => {
      const password = await passwordFromStdin(io);
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const r = await setUserPassword(c, who, password, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { user: presentUser(r.user), sessions_revoked: r.sessionsRevoked },
          (d) => `password set for ${d.user.email}; ${d.sessions_revoked} session(s) revoked\n`,
        );
      });
    });

  users
    .command('sessions <user>')
    .description('List the live sessions of a user, newest first')
    .option('--json', 'print one JSON document (an array, as the API answers)')
    .action(
      run(async (c, who: string, o: Json) => {
        const r = await listUserSessions(c, who, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          r.sessions.map((s) => presentSession(s)),
          (d) => table(d, ['id', 'created_at', 'last_used_at', 'expires_at', 'ip', 'user_agent']),
        );
      }),
    );

  users
    .command('revoke-sessions <user>')
    .description('End every session of a user; their tokens stop working at once')
    .option('--json', 'print one JSON document')
    .action(
      run(async (c, who: string, o: Json) => {
        const r = await revokeUserSessions(c, who, CLI_CONTEXT);
        emitResult(
          io,
          o.json,
          { user_id: r.user.id, sessions_revoked: r.revoked },
          (d) => `${r.user.email}: ${d.sessions_revoked} session(s) revoked\n`,
        );
      }),
    );

  registerUserMfa(users, io);

  users
    .command('import <file>')
    .description(
      'Import users from a JSON array or NDJSON file of {email, first_name?, last_name?, password_hash? (bcrypt), email_verified?, is_admin?, user_metadata?}. Existing emails are skipped, so it can be re-run; bad records are reported and skipped (exit 3).',
    )
    .option('--dry-run', 'validate and report what would happen; change nothing')
    .option('--batch-size <n>', 'records per transaction (default 500)', int(1, 1000))
    .option('--json', 'print one JSON document {created, skipped, failed, dry_run, items} at the end')
    .action(async (file: string, o: Json & { dryRun?: boolean; batchSize?: number }, cmd: Command) => {
      const path = file === '-' ? null : file;
      if (path) await access(path).catch(() => Promise.reject(notFound(`no such file: ${path}`)));
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const items: ImportItem[] = [];
        const input = path ? createReadStream(path, { encoding: 'utf8' }) : stdinText();
        // On a terminal: a live progress line on stderr; the per-record report still goes to stdout unless
        // stdout is that same person's terminal (then only the failures, drawn above the progress line).
        // Ink (with React and its layout engine, ~40 MiB resident) is loaded only to draw it: every other
        // command, and `janua serve`, runs without it.
        const progress =
          !o.json && io.terminal
            ? (await import('../import-progress.js')).startImportProgress(io.terminal, !!o.dryRun)
            : undefined;
        const everyRecord = !progress || !io.stdoutIsTerminal;
        const summary = await importUsers(
          c,
          readImportRecords(input),
          {
            dryRun: o.dryRun,
            batchSize: o.batchSize,
            onItem: o.json
              ? (item) => items.push(item)
              : (item) => {
                  progress?.item(item);
                  if (everyRecord)
                    io.out(
                      `${String(item.index).padStart(7)}  ${item.status.padEnd(7)}  ${item.email ?? '-'}  ${item.id ?? item.reason ?? ''}\n`,
                    );
                },
          },
          CLI_CONTEXT,
        ).finally(() => progress?.finish());
        if (o.json) emitResult(io, true, { ...summary, items }, () => '');
        else
          io.out(
            `${o.dryRun ? 'dry run: would create' : 'created'} ${summary.created}, skipped ${summary.skipped}, failed ${summary.failed}\n`,
          );
        if (summary.failed)
          throw new ExitWith(EXIT.PARTIAL, `error: ${summary.failed} record(s) failed (see the report)`);
      });
    });

  registerUserPasskeys(users, io);
}

async function* stdinText(): AsyncGenerator<string> {
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) yield chunk as string;
}
