/**
 * The file inputs of `janua migrate auth0`: an Auth0 users export (NDJSON or a JSON array) and the
 * password-hash export (NDJSON), either optionally gzipped — told by the gzip magic bytes, not the name, since
 * exports get renamed. Records are streamed through core's reader (src/core/users/import-format.ts): memory
 * stays flat whatever the file's size. `fileInputKey` fingerprints the inputs for the run's checkpoint.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { readImportRecords } from '../../core/users/import-format.js';
import type { SourceRecord } from './types.js';

/** Read in large chunks: the reader's cost is per chunk as much as per byte. */
const CHUNK = 256 * 1024;
/** How much of each file the input key hashes: enough to tell two exports apart, cheap for a 10 GB file. */
const KEY_PREFIX_BYTES = 64 * 1024;

async function head(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The file's text as utf8 chunks, gunzipped when it starts with the gzip magic bytes (1f 8b). */
export async function* fileText(path: string): AsyncGenerator<string> {
  const magic = await head(path, 2);
  const gz = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const raw = createReadStream(path, { highWaterMark: CHUNK });
  const stream = gz ? raw.pipe(createGunzip({ chunkSize: CHUNK })) : raw;
  // pipe() does not forward the source's errors: a read error must end the iteration, not hang it.
  if (gz) raw.on('error', (err) => stream.destroy(err));
  stream.setEncoding('utf8');
  try {
    for await (const chunk of stream) yield chunk as string;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      gz && e.code?.startsWith('Z_') ? `${path}: corrupt gzip data (${e.message})` : `${path}: ${e.message}`,
    );
  } finally {
    raw.destroy();
    if (gz) stream.destroy();
  }
}

async function* records(path: string): AsyncGenerator<SourceRecord<unknown>> {
  for await (const r of readImportRecords(fileText(path)))
    yield r.error !== undefined ? { index: r.index, error: r.error } : { index: r.index, value: r.value };
}

/**
 * The records of an Auth0 users export file: NDJSON (what the export job writes) or a JSON array, plain or
 * gzipped. A record that is not valid JSON comes as `{ index, error }` and reading goes on.
 */
export function readUsersFile(path: string): AsyncIterable<SourceRecord<unknown>> {
  return records(path);
}

/** The lines of Auth0's password-hash export (NDJSON, plain or gzipped), as records to map. */
export function readPasswordHashesFile(path: string): AsyncIterable<SourceRecord<unknown>> {
  return records(path);
}

/**
 * A cheap fingerprint of input files for checkpoints: per file its resolved path, size, modification time and
 * the SHA-256 of its first 64 KiB. A different or changed file gives a different key (a new run); the same
 * files give the same key (the run resumes).
 */
export async function fileInputKey(paths: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    const full = resolve(p);
    const st = await stat(full);
    const prefix = createHash('sha256')
      .update(await head(full, KEY_PREFIX_BYTES))
      .digest('hex');
    h.update(JSON.stringify([full, st.size, Math.trunc(st.mtimeMs), prefix]));
    h.update('\n');
  }
  return `files:${h.digest('hex')}`;
}

/**
 * How many records an NDJSON file holds (its non-blank lines), for the progress bar and ETA on a terminal; a
 * JSON array is not counted (undefined). One pass over the bytes: about a second per few hundred MB.
 */
export async function countRecords(path: string): Promise<number | undefined> {
  let n = 0;
  let first = true;
  let lineHasText = false;
  for await (const chunk of fileText(path)) {
    if (first) {
      if (chunk.trimStart().startsWith('[')) return undefined;
      first = false;
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) {
        if (lineHasText) n++;
        lineHasText = false;
      } else if (c > 32) lineHasText = true;
    }
  }
  return lineHasText ? n + 1 : n;
}
