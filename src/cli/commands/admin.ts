import { Argument, type Command } from 'commander';
import { getMaintenance, type MaintenanceState, setMaintenance } from '../../core/admin/maintenance.js';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { emitResult, type Io } from '../output.js';

function describe(s: MaintenanceState): string {
  if (!s.enabled) return 'maintenance mode: off\n';
  return `maintenance mode: on — "${s.message}" (since ${s.updated_at}, by ${s.updated_by ?? '-'})\n`;
}

export function registerAdmin(program: Command, io: Io): void {
  const admin = program.command('admin').description('Platform administration');
  admin
    .command('maintenance')
    .description(
      'Maintenance mode: `on` answers non-admin writes with 503 on every node sharing the database (within 2 s); reads keep working',
    )
    .addArgument(new Argument('<state>', 'on, off, or status').choices(['on', 'off', 'status']))
    .option('--message <text>', 'with `on`: the message clients see as the 503 detail')
    .option('--json', 'print one JSON document')
    .action(
      async (state: 'on' | 'off' | 'status', opts: { message?: string; json?: boolean }, cmd: Command) => {
        await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
          const result =
            state === 'status'
              ? await getMaintenance(c)
              : await setMaintenance(c, { enabled: state === 'on', message: opts.message }, CLI_CONTEXT);
          emitResult(io, opts.json, result, describe);
        });
      },
    );
}
