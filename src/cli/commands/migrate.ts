/**
 * `janua migrate auth0`: moves an Auth0 tenant (users, password hashes, roles, organizations and their members)
 * into Janua. The work is in src/migrate/auth0/run.ts; this file reads the options, picks the source, shows
 * progress (Ink on a terminal, plain lines otherwise, always on stderr) and prints the summary on stdout.
 *
 * Exit codes: 0 every record migrated; 3 some records failed (the report lists them); 2 usage; 4 an input file
 * does not exist; 6 the tenant or the database unreachable; 7 the tenant refused the credentials.
 */
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import type { Container } from '../../core/container.js';
import { notFound } from '../../core/errors.js';
import { Auth0Error } from '../../migrate/auth0/client.js';
import { fileSource } from '../../migrate/auth0/file-source.js';
import { countRecords } from '../../migrate/auth0/files.js';
import { type LiveSourceEvent, liveSource } from '../../migrate/auth0/live-source.js';
import type { ReportSummary } from '../../migrate/auth0/report.js';
import { migrateAuth0, type OnlyWhat } from '../../migrate/auth0/run.js';
import type { Auth0Source } from '../../migrate/auth0/types.js';
import type { GlobalOptions } from '../context.js';
import { withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import { type MigrateView, plainMigrateProgress } from '../migrate-progress-plain.js';
import { int } from '../options.js';
import { emitResult, type Io, table } from '../output.js';
import type { ServeSignals } from './serve.js';

interface MigrateOpts {
  domain?: string;
  clientId?: string;
  clientSecret?: string;
  clientSecretFile?: string;
  users?: string;
  passwordHashes?: string;
  only?: OnlyWhat;
  batchSize: number;
  dryRun?: boolean;
  restart?: boolean;
  sendResetEmail?: boolean;
  report?: string;
  json?: boolean;
}

function only(v: string): OnlyWhat {
  if (v !== 'users' && v !== 'orgs' && v !== 'roles')
    throw new InvalidArgumentError('expected users, orgs or roles');
  return v;
}

function readSecret(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new ExitWith(
      EXIT.USAGE,
      `error: cannot read the client secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** The tenant's credentials from flags, else the environment / config file; undefined when no domain is set. */
function tenant(o: MigrateOpts, c: Container) {
  const domain = o.domain ?? c.config.auth0Domain;
  if (!domain) return undefined;
  const clientId = o.clientId ?? c.config.auth0ClientId;
  const secretFile = o.clientSecretFile ?? c.config.auth0ClientSecretFile;
  const clientSecret = o.clientSecret ?? (secretFile ? readSecret(secretFile) : c.config.auth0ClientSecret);
  if (!clientId || !clientSecret)
    throw new ExitWith(
      EXIT.USAGE,
      'error: the tenant needs --client-id and a client secret (--client-secret-file, AUTH0_CLIENT_SECRET or AUTH0_CLIENT_SECRET_FILE)',
    );
  return { domain, clientId, clientSecret };
}

/** What the live source tells about its work, as one line for the progress view. */
export function eventText(e: LiveSourceEvent): string | undefined {
  switch (e.type) {
    case 'export':
      if (e.state === 'downloading') return `downloading the users export to ${e.file}`;
      if (e.state === 'downloaded') return `users export downloaded (${e.bytes ?? 0} bytes)`;
      if (e.state === 'reused') return `reusing the users export ${e.file}`;
      return `users export job ${e.jobId}: ${e.state}${'percentDone' in e && e.percentDone !== undefined ? ` (${e.percentDone}%)` : ''}`;
    case 'retry':
      return `${e.what}: ${e.reason === 'rate_limited' ? 'rate limited by Auth0' : e.reason === 'server_error' ? `Auth0 answered ${e.status}` : 'network error'}; retrying in ${Math.ceil(e.waitMs / 1000)} s (attempt ${e.attempt})`;
    case 'token':
      return e.reason === 'initial' ? undefined : 'Management API token renewed';
  }
}

function pickSource(o: MigrateOpts, c: Container, note: (text: string) => void): Auth0Source {
  const t = tenant(o, c);
  const live = t
    ? liveSource({
        ...t,
        dataDir: c.config.dataDir,
        onEvent: (e) => {
          const text = eventText(e);
          if (text) note(text);
        },
      })
    : undefined;
  if (o.users) return fileSource(o.users, o.passwordHashes ? [o.passwordHashes] : [], live);
  if (live) return live;
  throw new ExitWith(
    EXIT.USAGE,
    'error: name what to migrate: --domain with client credentials (a live tenant), or --users FILE (an export)',
  );
}

/**
 * A call to the tenant that failed for good (after its retries), as this command's exit: the credentials
 * refused (7), a domain that is not one (2), the tenant unreachable or failing (6). The checkpoint stays, so
 * the same command resumes once the cause is fixed.
 */
function tenantFailure(err: Auth0Error): ExitWith {
  const code =
    err.status === 401 || err.status === 403
      ? EXIT.DENIED
      : err.message.startsWith('Not an Auth0 domain')
        ? EXIT.USAGE
        : EXIT.UNAVAILABLE;
  return new ExitWith(code, `error: ${err.message}`);
}

/** The record counts of the input files, for the bar and ETA on a terminal (an export job's size is unknown). */
async function totals(o: MigrateOpts): Promise<Partial<Record<string, number>>> {
  const out: Partial<Record<string, number>> = {};
  if (o.users && o.only !== 'orgs' && o.only !== 'roles') out['users'] = await countRecords(o.users);
  if (o.passwordHashes && o.only !== 'orgs' && o.only !== 'roles')
    out['passwords'] = await countRecords(o.passwordHashes);
  return out;
}

function human(s: ReportSummary): string {
  const rows = Object.entries(s.counts).map(([phase, c]) => ({ phase, ...c }));
  const cols = ['phase', ...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => k !== 'phase')))];
  const head = `${s.dry_run ? 'Dry run of the migration' : 'Migration'} from ${s.source}${s.resumed ? ' (resumed)' : ''}: ${s.failed} failed, ${s.warnings} warnings, ${(s.duration_ms / 1000).toFixed(1)} s\n`;
  const failures = s.failures_sample.length
    ? `\nFailed records${s.failed > s.failures_sample.length ? ` (first ${s.failures_sample.length}; --report FILE has all)` : ''}:\n${table(s.failures_sample, ['phase', 'index', 'id', 'email', 'reason'])}`
    : '';
  return `${head}${rows.length ? table(rows, cols) : 'nothing to do\n'}${failures}`;
}

export function registerMigrate(program: Command, io: Io, signals: ServeSignals): void {
  const group = program.command('migrate').description('Import users and organizations from another system');
  group
    .command('auth0')
    .description(
      'Move an Auth0 tenant (users, passwords, roles, organizations) into Janua: resumable, re-runnable',
    )
    .option('--domain <host>', 'the Auth0 tenant, host or host:port (AUTH0_DOMAIN)')
    .option('--client-id <id>', 'Management API client id (AUTH0_CLIENT_ID)')
    .option(
      '--client-secret <secret>',
      'its secret (prefer AUTH0_CLIENT_SECRET or --client-secret-file: flags show in ps)',
    )
    .option('--client-secret-file <file>', 'file holding the client secret (AUTH0_CLIENT_SECRET_FILE)')
    .option(
      '--users <file>',
      'an Auth0 users export (NDJSON or JSON array, optionally gzipped) instead of an export job',
    )
    .option('--password-hashes <file>', "Auth0's password-hash export (NDJSON): users keep their passwords")
    .option('--only <what>', 'only users, orgs or roles', only)
    .option('--batch-size <n>', 'records per transaction', int(1, 10_000), 1000)
    .option('--dry-run', 'read, map and check everything; write nothing')
    .option('--restart', 'ignore the checkpoint of an interrupted run and start over')
    .option('--send-reset-email', 'queue the password-reset mail for users left without a password')
    .option('--report <file>', 'write the full JSON report (counts, every failure and warning)')
    .option('--json', 'print the summary as one JSON document')
    .action(async (o: MigrateOpts, cmd: Command) => {
      for (const file of [o.users, o.passwordHashes])
        if (file) await access(file).catch(() => Promise.reject(notFound(`no such file: ${file}`)));
      const failed = await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        let view: MigrateView | undefined;
        const source = pickSource(o, c, (text) => view?.note(text));
        const stop = new AbortController();
        void signals.stopRequested.then(() => stop.abort());
        view =
          !o.json && io.terminal
            ? (await import('../migrate-progress.js')).startMigrateProgress(
                io.terminal,
                !!o.dryRun,
                await totals(o),
              )
            : plainMigrateProgress(io);
        let summary: ReportSummary;
        try {
          const report = await migrateAuth0(c, {
            source,
            passwordHashesFile: o.passwordHashes,
            only: o.only,
            batchSize: o.batchSize,
            dryRun: !!o.dryRun,
            restart: !!o.restart,
            sendResetEmail: !!o.sendResetEmail,
            reportFile: o.report,
            onProgress: (p) => view?.update(p),
            signal: stop.signal,
          });
          summary = report.summary();
        } catch (err) {
          throw err instanceof Auth0Error ? tenantFailure(err) : err;
        } finally {
          await view.finish();
          await source.close?.();
        }
        emitResult(io, o.json, summary, human);
        return summary.failed
          ? new ExitWith(
              EXIT.PARTIAL,
              `error: ${summary.failed} record(s) failed${o.report ? ` (see ${o.report})` : ''}`,
            )
          : undefined;
      });
      if (failed) throw failed;
    });
}
