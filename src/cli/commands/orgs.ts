import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { createInvitation, NO_MAILER_MESSAGE } from '../../core/orgs/invitations.js';
import {
  type Organization,
  presentInvitation,
  presentMember,
  presentOrganization,
} from '../../core/orgs/model.js';
import {
  addMember,
  createOrganization,
  deleteOrganization,
  findOrganization,
  listAllOrganizations,
  listMembers,
  removeMember,
  setMemberRole,
  transferOwnership,
  updateOrganization,
} from '../../core/orgs/service.js';
import { CLI_ACTOR } from '../../core/rbac/access.js';
import { findUser } from '../../core/users/service.js';
import { confirmDestructive } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { onOff } from '../options.js';
import { emitResult, type Io, table } from '../output.js';

const ORG_COLUMNS = ['id', 'slug', 'name', 'created_at'];
const MEMBER_COLUMNS = ['user_id', 'email', 'name', 'role', 'joined_at'];

const orgLine = (o: ReturnType<typeof presentOrganization>) =>
  `${o.slug} (${o.id})\n${table([o], ['name', 'description', 'require_mfa', 'created_at', 'updated_at'])}`;

type Json = { json?: boolean };

/** `janua orgs …`: organizations, their members and invitations. ORG is an id or a slug, USER an id or email. */
export function registerOrgs(program: Command, io: Io): void {
  const run = <T>(cmd: Command, fn: (c: Parameters<Parameters<typeof withContainer>[3]>[0]) => Promise<T>) =>
    withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, fn);
  const orgs = program
    .command('orgs')
    .description('Organizations, members and invitations (ORG: id or slug)');

  orgs
    .command('list')
    .description('Every organization, by slug')
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .option('--json', 'print one JSON document (an array)')
    .action(async (opts: Json & { limit: string; offset: string }, cmd: Command) => {
      const limit = Math.min(Math.max(Number.parseInt(opts.limit, 10) || 100, 1), 1000);
      const offset = Math.max(Number.parseInt(opts.offset, 10) || 0, 0);
      await run(cmd, async (c) => {
        const rows = (await listAllOrganizations(c, { limit, offset })).map(presentOrganization);
        emitResult(io, opts.json, rows, (d) => table(d, ORG_COLUMNS));
      });
    });

  orgs
    .command('get <org>')
    .description('One organization')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, opts: Json, cmd: Command) => {
      await run(cmd, async (c) => {
        emitResult(io, opts.json, presentOrganization(await findOrganization(c, ref)), orgLine);
      });
    });

  orgs
    .command('create')
    .description('Create an organization owned by USER')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--slug <slug>', 'unique slug: lower-case letters, digits, hyphens')
    .requiredOption('--owner <user>', 'the first owner (id or email)')
    .option('--description <text>')
    .option('--json', 'print one JSON document')
    .action(
      async (
        opts: Json & { name: string; slug: string; owner: string; description?: string },
        cmd: Command,
      ) => {
        await run(cmd, async (c) => {
          const owner = await findUser(c, opts.owner);
          const { organization } = await createOrganization(
            c,
            CLI_ACTOR,
            { name: opts.name, slug: opts.slug, description: opts.description, ownerId: owner.id },
            CLI_CONTEXT,
          );
          emitResult(
            io,
            opts.json,
            presentOrganization(organization),
            (o) => `created organization ${o.slug} (${o.id}) owned by ${owner.email}\n`,
          );
        });
      },
    );

  orgs
    .command('update <org>')
    .description('Change name, slug or description')
    .option('--name <name>')
    .option('--slug <slug>')
    .option('--description <text>', 'an empty string clears it')
    .option('--require-mfa <on|off>', 'members must have a second factor to sign in (docs/mfa.md)', onOff)
    .option('--json', 'print one JSON document')
    .action(
      async (
        ref: string,
        opts: Json & { name?: string; slug?: string; description?: string; requireMfa?: boolean },
        cmd: Command,
      ) => {
        await run(cmd, async (c) => {
          const org = await findOrganization(c, ref);
          const description = opts.description === undefined ? undefined : opts.description || null;
          const { organization } = await updateOrganization(
            c,
            CLI_ACTOR,
            org.id,
            { name: opts.name, slug: opts.slug, description, requireMfa: opts.requireMfa },
            CLI_CONTEXT,
          );
          emitResult(io, opts.json, presentOrganization(organization), orgLine);
        });
      },
    );

  orgs
    .command('delete <org>')
    .description('Delete an organization with its members, roles and invitations')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, opts: Json & { yes?: boolean }, cmd: Command) => {
      await run(cmd, async (c) => {
        const org = await findOrganization(c, ref);
        await confirmDestructive(opts.yes, `delete organization ${org.slug} and all its memberships`);
        const o = await deleteOrganization(c, CLI_ACTOR, org.id, CLI_CONTEXT);
        emitResult(io, opts.json, { deleted: true, id: o.id, slug: o.slug }, (d) => `deleted ${d.slug}\n`);
      });
    });

  orgs
    .command('transfer-ownership <org> <user>')
    .description('Make a member the owner; the current owners become admins')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, who: string, opts: Json, cmd: Command) => {
      await run(cmd, async (c) => {
        const org = await findOrganization(c, ref);
        const user = await findUser(c, who);
        const changed = await transferOwnership(c, CLI_ACTOR, org.id, user.id, CLI_CONTEXT);
        emitResult(io, opts.json, changed.map(presentMember), (d) => table(d, MEMBER_COLUMNS));
      });
    });

  orgs
    .command('invite <org>')
    .description(
      'Invite by email (7 days, single use). No mailer yet: the token is printed once; deliver it.',
    )
    .requiredOption('--email <email>', 'whom to invite')
    .option('--role <role>', 'built-in or custom role', 'member')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, opts: Json & { email: string; role: string }, cmd: Command) => {
      await run(cmd, async (c) => {
        const org = await findOrganization(c, ref);
        const i = await createInvitation(
          c,
          CLI_ACTOR,
          org.id,
          { email: opts.email, role: opts.role },
          CLI_CONTEXT,
        );
        emitResult(
          io,
          opts.json,
          { ...presentInvitation(i.invitation, c.clock.now()), token: i.token, message: NO_MAILER_MESSAGE },
          (d) =>
            `invited ${d.email} to ${org.slug} as ${d.role} (expires ${d.expires_at})\ntoken: ${d.token}\n` +
            'This token is shown only once; send it to the invitee (no mailer is configured).\n',
        );
      });
    });

  const membersCmd = orgs.command('members').description('Members of an organization');
  membersCmd
    .command('list <org>')
    .option('--json', 'print one JSON document (an array)')
    .action(async (ref: string, opts: Json, cmd: Command) => {
      await run(cmd, async (c) => {
        const org = await findOrganization(c, ref);
        const rows = (await listMembers(c, CLI_ACTOR, org.id)).map(presentMember);
        emitResult(io, opts.json, rows, (d) => table(d, MEMBER_COLUMNS));
      });
    });
  membersCmd
    .command('add <org> <user>')
    .description('Add an existing user (id or email)')
    .option('--role <role>', 'built-in or custom role', 'member')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, who: string, opts: Json & { role: string }, cmd: Command) => {
      await run(cmd, async (c) => {
        const org: Organization = await findOrganization(c, ref);
        const m = await addMember(
          c,
          CLI_ACTOR,
          org.id,
          who.includes('@') ? { email: who, role: opts.role } : { userId: who, role: opts.role },
          CLI_CONTEXT,
        );
        emitResult(io, opts.json, presentMember(m), (d) => `added ${d.email} to ${org.slug} as ${d.role}\n`);
      });
    });
  membersCmd
    .command('remove <org> <user>')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, who: string, opts: Json & { yes?: boolean }, cmd: Command) => {
      await run(cmd, async (c) => {
        const org = await findOrganization(c, ref);
        const user = await findUser(c, who);
        await confirmDestructive(opts.yes, `remove ${user.email} from ${org.slug}`);
        const m = await removeMember(c, CLI_ACTOR, org.id, user.id, CLI_CONTEXT);
        emitResult(io, opts.json, presentMember(m), (d) => `removed ${d.email} from ${org.slug}\n`);
      });
    });
  membersCmd
    .command('set-role <org> <user> <role>')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, who: string, role: string, opts: Json, cmd: Command) => {
      await run(cmd, async (c) => {
        const org = await findOrganization(c, ref);
        const user = await findUser(c, who);
        const m = await setMemberRole(c, CLI_ACTOR, org.id, user.id, role, CLI_CONTEXT);
        emitResult(io, opts.json, presentMember(m), (d) => `${d.email} is now ${d.role} in ${org.slug}\n`);
      });
    });
}
