import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { maskDatabaseUrl, normalizeDatabaseUrl } from '../../core/config/load.js';
import { isJanuaError, JanuaError } from '../../core/errors.js';
import { type CopyReport, CopyStopped, copyDatabase } from '../../core/store/copy/copy.js';
import { nextSteps } from '../../core/store/copy/next-steps.js';
import { migrate, migrationStatus } from '../../core/store/migrator.js';
import { backupSqlite } from '../../core/store/sqlite/backup.js';
import { createStore } from '../../core/store/store.js';
import type { GlobalOptions } from '../context.js';
import { configFrom, withContainer } from '../context.js';
import { plainCopyProgress } from '../copy-progress-plain.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { int } from '../options.js';
import { emitResult, type Io, table } from '../output.js';
import type { ServeSignals } from './serve.js';

/** The file behind a sqlite: URL, or undefined for Postgres. */
function sqliteFile(url: string): string | undefined {
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : undefined;
}

function renderCopy(d: CopyReport & { next_steps: string[] }): string {
  const rows = d.tables.map((t) => ({
    table: t.table,
    rows: t.target_rows,
    checksum: t.target_checksum.slice(0, 16),
    verified: t.verified ? 'yes' : `NO (source ${t.source_rows} rows, ${t.source_checksum.slice(0, 16)})`,
  }));
  const total = d.tables.reduce((s, t) => s + t.target_rows, 0);
  const verdict = d.verified
    ? `copied and verified ${d.tables.length} tables, ${total.toLocaleString('en-US')} rows: row counts and checksums match`
    : `VERIFICATION FAILED for ${d.tables
        .filter((t) => !t.verified)
        .map((t) => t.table)
        .join(', ')}: was janua writing to the source? Stop it and run the copy again with --force`;
  return `${table(rows, ['table', 'rows', 'checksum', 'verified'])}\n${verdict}\n\nNext steps:\n${d.next_steps.map((s) => `  - ${s}`).join('\n')}\n`;
}

export function registerDb(program: Command, io: Io, signals: ServeSignals): void {
  const db = program
    .command('db')
    .description('The database named by DATABASE_URL: schema migrations, copy to another database, backup');
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
  db.command('copy')
    .description(
      'Copy the whole installation to another database (SQLite to PostgreSQL or back): migrate the target, copy every table in batches (resumable), verify row counts and checksums',
    )
    .requiredOption('--to <url>', 'the target database: postgres://… or sqlite:PATH')
    .option('--batch-size <n>', 'rows per batch, one target transaction each (default 1000)', int(1, 100_000))
    .option('--force', 'empty a target that holds data (or another copy) first')
    .option('--json', 'print one JSON document')
    .action(
      async (opts: { to: string; batchSize?: number; force?: boolean; json?: boolean }, cmd: Command) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const config = configFrom(io, globals);
        let to: string;
        try {
          to = normalizeDatabaseUrl(opts.to, io.cwd);
        } catch (err) {
          if (!isJanuaError(err)) throw err;
          throw new JanuaError(
            'BAD_REQUEST',
            `--to must be sqlite:PATH or postgres://…; got "${maskDatabaseUrl(opts.to)}"`,
          );
        }
        if (to === 'sqlite::memory:')
          throw new JanuaError('BAD_REQUEST', '--to cannot be an in-memory database');
        const file = sqliteFile(config.databaseUrl);
        if (file !== undefined && !existsSync(file))
          throw new JanuaError('NOT_FOUND_ERROR', `no source database at ${file} (DATABASE_URL)`);
        const source = {
          store: createStore(config.databaseUrl, { poolSize: 4 }),
          name: maskDatabaseUrl(config.databaseUrl),
        };
        const target = { store: createStore(to, { poolSize: 4 }), name: maskDatabaseUrl(to) };
        const view =
          !opts.json && io.terminal
            ? // Ink (and React) load only for a live display: they double every command's start-up time.
              (await import('../copy-progress.js')).startCopyProgress(io.terminal)
            : plainCopyProgress(io, source.name, target.name);
        // Ctrl-C or SIGTERM: finish the batch in flight, then stop with everything committed recorded.
        const stop = new AbortController();
        void signals.stopRequested.then(() => stop.abort());
        let report: CopyReport | undefined;
        try {
          report = await copyDatabase({
            source,
            target,
            batchSize: opts.batchSize ?? 1000,
            force: !!opts.force,
            onEvent: (e) => view.event(e),
            signal: stop.signal,
          });
        } catch (err) {
          if (err instanceof CopyStopped) throw new ExitWith(EXIT.FAILURE, `db copy ${err.message}`);
          throw err;
        } finally {
          await view.finish(report !== undefined);
          await Promise.all([source.store.destroy(), target.store.destroy()]);
        }
        emitResult(io, opts.json, { ...report, next_steps: nextSteps(config, to) }, renderCopy);
        if (!report.verified)
          throw new ExitWith(EXIT.PARTIAL, 'db copy: verification failed (see the report on stdout)');
      },
    );
  db.command('backup')
    .argument('<file>', 'where to write the copy')
    .description(
      'Back up the embedded SQLite database to FILE, consistent while the daemon runs (SQLite online backup); on PostgreSQL use pg_dump',
    )
    .option('--force', 'replace FILE if it exists')
    .option('--json', 'print one JSON document')
    .action(async (file: string, opts: { force?: boolean; json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = configFrom(io, globals);
      const source = sqliteFile(config.databaseUrl);
      if (source === undefined)
        throw new JanuaError(
          'BAD_REQUEST',
          'db backup copies the embedded SQLite database; for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=janua.dump "$DATABASE_URL"',
        );
      const result = await backupSqlite(source, resolve(io.cwd, file), { force: !!opts.force });
      emitResult(
        io,
        opts.json,
        { database: 'sqlite', source, ...result },
        (d) =>
          `backed up ${d.source} to ${d.file}: ${d.pages} pages, ${d.bytes.toLocaleString('en-US')} bytes, quick_check ${d.check}\n`,
      );
    });
}
