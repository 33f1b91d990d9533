import type { Command } from 'commander';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { presentRole } from '../../core/orgs/model.js';
import { createRole, deleteRole, findRole, listRoles } from '../../core/orgs/roles.js';
import { findOrganization } from '../../core/orgs/service.js';
import { CLI_ACTOR } from '../../core/rbac/access.js';
import { confirmDestructive } from '../confirm.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io, table } from '../output.js';

/** `janua roles …`: the built-in roles and an organization's custom roles. */
export function registerRoles(program: Command, io: Io): void {
  const roles = program
    .command('roles')
    .description("Built-in and organizations' custom roles (ORG: id or slug)");
  const human = (rows: Array<{ name: string; built_in: boolean; permissions: string[] }>) =>
    table(
      rows.map((r) => ({ ...r, permissions: r.permissions.join(' ') })),
      ['name', 'built_in', 'permissions'],
    );

  roles
    .command('list [org]')
    .description('Built-in roles with their permissions; with ORG also its custom roles')
    .option('--json', 'print one JSON document (an array)')
    .action(async (ref: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const org = ref === undefined ? undefined : await findOrganization(c, ref);
        emitResult(io, opts.json, await listRoles(c, CLI_ACTOR, org?.id), human);
      });
    });

  roles
    .command('create <org>')
    .description('Create a custom role, e.g. --name billing --permissions organization:read,members:read')
    .requiredOption('--name <name>', 'lower-case letters, digits, _ and -')
    .requiredOption('--permissions <list>', 'comma-separated resource:action grants (wildcards: users:*, *)')
    .option('--description <text>')
    .option('--json', 'print one JSON document')
    .action(
      async (
        ref: string,
        opts: { name: string; permissions: string; description?: string; json?: boolean },
        cmd: Command,
      ) => {
        await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
          const org = await findOrganization(c, ref);
          const role = await createRole(
            c,
            CLI_ACTOR,
            {
              organizationId: org.id,
              name: opts.name,
              description: opts.description,
              permissions: opts.permissions
                .split(',')
                .map((p) => p.trim())
                .filter(Boolean),
            },
            CLI_CONTEXT,
          );
          emitResult(
            io,
            opts.json,
            presentRole(role),
            (r) => `created role ${r.name} in ${org.slug} (${r.id})\n`,
          );
        });
      },
    );

  roles
    .command('delete <org> <role>')
    .description('Delete a custom role (id or name) that no member or pending invitation holds')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--json', 'print one JSON document')
    .action(async (ref: string, roleRef: string, opts: { yes?: boolean; json?: boolean }, cmd: Command) => {
      await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        const org = await findOrganization(c, ref);
        const role = await findRole(c, CLI_ACTOR, roleRef, org.id);
        await confirmDestructive(opts.yes, `delete role ${role.name} of ${org.slug}`);
        const deleted = await deleteRole(c, CLI_ACTOR, role.id, CLI_CONTEXT);
        emitResult(
          io,
          opts.json,
          { deleted: true, id: deleted.id, name: deleted.name },
          (d) => `deleted role ${d.name}\n`,
        );
      });
    });
}
