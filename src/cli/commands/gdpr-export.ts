/**
 * `janua gdpr export`: a user's data export (GDPR Art. 15 access, Art. 20 portability) straight through core,
 * no job queue: one user to a file or stdout, or every user into a directory (resumable: files already there
 * are skipped). Files are written to a temporary name and renamed, so a file that exists is always complete —
 * which is what makes skipping existing files a safe way to resume an interrupted run.
 */
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Container } from '../../core/container.js';
import { CLI_CONTEXT } from '../../core/events/events.js';
import { countUsers, userIdsInOrder } from '../../core/gdpr/all-users.js';
import { type Archive, buildArchive, EXPORT_FORMATS, type ExportFormat } from '../../core/gdpr/archive.js';
import { auditExport } from '../../core/gdpr/export-audit.js';
import { collectUserData } from '../../core/gdpr/registry.js';
import { findUser } from '../../core/users/service.js';
import { type GlobalOptions, withContainer } from '../context.js';
import { EXIT, ExitWith } from '../exit-codes.js';
import {
  type ExportItem,
  type ExportView,
  plainExportProgress,
  silentExportProgress,
} from '../gdpr-export-progress-plain.js';
import { emitResult, type Io } from '../output.js';

interface ExportOpts {
  out?: string;
  format: ExportFormat;
  allUsers?: boolean;
  json?: boolean;
}

function formatArg(v: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${EXPORT_FORMATS.join(', ')}`);
  return v as ExportFormat;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Writes beside the target and renames: a reader (or a resumed run) never sees a half-written archive. */
async function writeAtomically(file: string, bytes: Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

async function archiveOf(c: Container, userId: string, format: ExportFormat): Promise<Archive> {
  return buildArchive(await collectUserData(c, userId), format, c.clock.now());
}

function usageChecks(user: string | undefined, o: ExportOpts): void {
  if (user !== undefined && o.allUsers)
    throw new ExitWith(EXIT.USAGE, 'error: give a USER or --all-users, not both');
  if (user === undefined && !o.allUsers)
    throw new ExitWith(EXIT.USAGE, 'error: name the USER (id or email) to export, or --all-users');
  if (o.allUsers && o.out === undefined)
    throw new ExitWith(EXIT.USAGE, 'error: --out DIR is required with --all-users');
  if (o.out === undefined && o.format === 'zip')
    throw new ExitWith(EXIT.USAGE, 'error: --out FILE is required for zip (or use --format json for stdout)');
  if (o.out === undefined && o.json)
    throw new ExitWith(EXIT.USAGE, 'error: --out FILE is required with --json (stdout carries the summary)');
}

async function exportOne(c: Container, io: Io, who: string, o: ExportOpts): Promise<void> {
  const user = await findUser(c, who);
  const archive = await archiveOf(c, user.id, o.format);
  const file = o.out === undefined ? undefined : resolve(io.cwd, o.out);
  if (file) await writeAtomically(file, archive.bytes);
  else io.out(archive.bytes.toString('utf8'));
  // Audited once the bytes are out of our hands, so the row records an export that happened.
  await auditExport(
    c,
    user.id,
    { format: o.format, sha256: archive.sha256, bytes: archive.bytes.length },
    CLI_CONTEXT,
  );
  if (!file) return;
  const summary = {
    user_id: user.id,
    file,
    format: o.format,
    bytes: archive.bytes.length,
    sha256: archive.sha256,
  };
  emitResult(
    io,
    o.json,
    summary,
    (s) => `exported ${s.user_id} to ${s.file} (${s.format}, ${s.bytes} bytes, sha256 ${s.sha256})\n`,
  );
}

/** One user of an --all-users run; any failure (deleted meanwhile, an unreadable path, a full disk) is its item. */
async function exportToDir(
  c: Container,
  userId: string,
  file: string,
  format: ExportFormat,
): Promise<ExportItem> {
  try {
    if (await exists(file)) return { user_id: userId, outcome: 'skipped', file };
    const archive = await archiveOf(c, userId, format);
    await writeAtomically(file, archive.bytes);
    const facts = { format, sha256: archive.sha256, bytes: archive.bytes.length };
    await auditExport(c, userId, facts, CLI_CONTEXT);
    return { user_id: userId, outcome: 'exported', file, bytes: facts.bytes, sha256: facts.sha256 };
  } catch (e) {
    // One user's failure must not stop the others; it is reported, and a re-run retries it.
    return { user_id: userId, outcome: 'failed', reason: (e as Error).message };
  }
}

async function exportAll(c: Container, io: Io, o: ExportOpts): Promise<ExitWith | undefined> {
  const dir = resolve(io.cwd, o.out!);
  await mkdir(dir, { recursive: true });
  const view: ExportView = o.json
    ? silentExportProgress
    : io.terminal
      ? // Ink (and React) load only for a live display.
        (await import('../gdpr-export-progress.js')).startExportProgress(io.terminal, await countUsers(c))
      : plainExportProgress(io);
  const counts = { exported: 0, skipped: 0, failed: 0 };
  // Only --json needs the items kept; otherwise each is reported and dropped (any number of users).
  const items: ExportItem[] = [];
  try {
    for await (const userId of userIdsInOrder(c)) {
      const file = join(dir, `${userId}.${o.format}`);
      const it = await exportToDir(c, userId, file, o.format);
      counts[it.outcome]++;
      view.item(it);
      if (o.json) items.push(it);
    }
  } finally {
    await view.finish();
  }
  const summary = { ...counts, dir, ...(o.json ? { items } : {}) };
  emitResult(
    io,
    o.json,
    summary,
    (s) => `${s.exported} exported, ${s.skipped} skipped, ${s.failed} failed in ${s.dir}\n`,
  );
  return counts.failed
    ? new ExitWith(EXIT.PARTIAL, `error: ${counts.failed} user(s) failed to export; re-run to retry them`)
    : undefined;
}

/** Adds `export` to the `janua gdpr` group. */
export function registerGdprExport(gdpr: Command, io: Io): void {
  gdpr
    .command('export [user]')
    .description(
      'Export a user’s data (id or email) to a file (zip, or json also to stdout); --all-users into a directory',
    )
    .option(
      '--out <path>',
      'the file to write (a directory with --all-users); json without it goes to stdout',
    )
    .option('--format <format>', `archive format: ${EXPORT_FORMATS.join('|')}`, formatArg, 'zip')
    .option(
      '--all-users',
      'every user, one <user_id>.<format> each into --out DIR; existing files are skipped',
    )
    .option('--json', 'print one JSON summary document')
    .action(async (who: string | undefined, o: ExportOpts, cmd: Command) => {
      usageChecks(who, o);
      const failed = await withContainer(io, cmd.optsWithGlobals<GlobalOptions>(), {}, async (c) => {
        if (o.allUsers) return exportAll(c, io, o);
        await exportOne(c, io, who!, o);
        return undefined;
      });
      if (failed) throw failed;
    });
}
