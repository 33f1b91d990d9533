import type { Command } from 'commander';
import { JanuaError } from '../../core/errors.js';
import { migrate, migrationStatus } from '../../core/store/migrator.js';
import type { GlobalOptions } from '../context.js';
import { withContainer } from '../context.js';
import { emitResult, type Io, table } from '../output.js';

export function registerDb(program: Command, io: Io): void {
  const db = program.command('db').description('Schema migrations of the database named by DATABASE_URL');
  db.command('migrate')
    .description('Apply pending schema migrations (each in a transaction, under a lock)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      await withContainer(io, globals, { requireMigrated: false }, async (c) => {
        const ran = await migrate(c.store);
        emitResult(io, opts.json, { applied: ran, database: c.store.dialect }, (d) =>
          d.applied.length
            ? `applied ${d.applied.map((m) => `${m.version}_${m.name}`).join(', ')}\n`
            : 'database is up to date\n',
        );
      });
    });
  db.command('status')
    .description('List migrations and whether each is applied (exit 6 when some are pending)')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const pending = await withContainer(io, globals, { requireMigrated: false }, async (c) => {
        const status = await migrationStatus(c.store);
        emitResult(io, opts.json, { database: c.store.dialect, migrations: status }, (d) =>
          table(d.migrations, ['version', 'name', 'state', 'applied_at']),
        );
        return status.filter((s) => s.state !== 'applied').length;
      });
      if (pending) throw new JanuaError('SERVICE_UNAVAILABLE', `${pending} migration(s) not applied`);
    });
}
