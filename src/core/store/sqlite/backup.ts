/**
 * `janua db backup` for the embedded database: SQLite's online backup API (https://sqlite.org/backup.html)
 * copies every page in one step, inside one read transaction, so the copy is the database as of one commit
 * even while the daemon keeps writing (WAL lets it write past the reader). The copy is written next to the
 * destination and renamed into place only once it passed `PRAGMA quick_check`, so a failed or interrupted
 * backup never leaves a half-written file under the asked name.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import sqlite3 from 'sqlite3';
import { JanuaError } from '../../errors.js';

/** The part of node-sqlite3's Backup object we use (its typings do not declare it). */
interface Backup {
  step(pages: number, callback: (err: (Error & { errno?: number }) | null, done: boolean) => void): Backup;
  finish(callback?: (err: Error | null) => void): void;
  readonly pageCount: number;
}

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
  /** `PRAGMA quick_check` on the copy: "ok". */
  check: string;
}

function open(filename: string, mode: number): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(filename, mode, (err) => (err ? reject(err) : resolve(db)));
  });
}

function close(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
}

function all<R>(db: sqlite3.Database, sql: string): Promise<R[]> {
  return new Promise((resolve, reject) =>
    db.all(sql, (err, rows) => (err ? reject(err) : resolve(rows as R[]))),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Copies every page into `file`; retries while the source is busy (a checkpoint or recovery in progress). */
async function copyPages(source: sqlite3.Database, file: string, timeoutMs: number): Promise<number> {
  const backup = await new Promise<Backup>((resolve, reject) => {
    // biome-ignore lint/suspicious/noExplicitAny: node-sqlite3 declares no types for backup().
    const b: Backup = (source as any).backup(file, (err: Error | null) => (err ? reject(err) : resolve(b)));
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const err = await new Promise<(Error & { errno?: number }) | null>((resolve) =>
        backup.step(-1, (e) => resolve(e)),
      );
      if (!err) return backup.pageCount;
      const retry = err.errno === sqlite3.BUSY || err.errno === sqlite3.LOCKED;
      if (!retry || Date.now() > deadline) throw err;
      await sleep(50);
    }
  } finally {
    await new Promise<void>((resolve) => backup.finish(() => resolve()));
  }
}

export async function backupSqlite(
  sourceFile: string,
  destFile: string,
  options: { force: boolean; busyTimeoutMs?: number },
): Promise<BackupResult> {
  if (sourceFile === ':memory:' || sourceFile === '')
    throw new JanuaError('BAD_REQUEST', 'an in-memory database has nothing to back up');
  if (!existsSync(sourceFile)) throw new JanuaError('NOT_FOUND_ERROR', `no database at ${sourceFile}`);
  if (existsSync(destFile) && !options.force)
    throw new JanuaError(
      'CONFLICT_ERROR',
      `${destFile} already exists: choose another name, or --force to replace it`,
    );
  if (!existsSync(dirname(destFile)))
    throw new JanuaError('BAD_REQUEST', `the directory ${dirname(destFile)} does not exist`);
  const partial = join(dirname(destFile), `.${basename(destFile)}.partial-${randomBytes(4).toString('hex')}`);
  const timeout = options.busyTimeoutMs ?? 30_000;
  try {
    // Read-write without create: a read-only connection could not take part in the WAL index as a reader
    // when no other process has the database open.
    const source = await open(sourceFile, sqlite3.OPEN_READWRITE);
    let pages: number;
    try {
      source.configure('busyTimeout', timeout);
      pages = await copyPages(source, partial, timeout);
    } finally {
      await close(source);
    }
    // The pages carry the source's WAL flag; a backup is one self-contained file, so it leaves WAL mode.
    const copy = await open(partial, sqlite3.OPEN_READWRITE);
    let check: string;
    try {
      await all(copy, 'PRAGMA journal_mode = DELETE');
      const rows = await all<{ quick_check: string }>(copy, 'PRAGMA quick_check');
      check = rows.map((r) => r.quick_check).join('; ');
    } finally {
      await close(copy);
    }
    if (check !== 'ok') throw new JanuaError('INTERNAL_ERROR', `the backup failed its check: ${check}`);
    // Journal files of an older file under the same name would belong to another database.
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${destFile}${suffix}`, { force: true });
    renameSync(partial, destFile);
    return { file: destFile, bytes: statSync(destFile).size, pages, check };
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
  }
}
