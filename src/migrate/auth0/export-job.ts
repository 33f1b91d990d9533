/**
 * Users come out of a live tenant through a users export job (`POST /api/v2/jobs/users-exports`), not by
 * paging `/api/v2/users` (which Auth0 caps at 1,000 results): create the job with every field we map, poll it
 * with backoff, download the gzipped NDJSON to `<dataDir>/migrate/auth0-<jobId>.ndjson.gz` (via a `.part` file,
 * renamed when complete, so a file with the final name is always whole), then read it record by record.
 * A resumed run hands back the job id and/or file (ExportState) so no second export is needed.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { ManagementError } from 'auth0';
import { readImportRecords } from '../../core/users/import-format.js';
import { type Auth0Client, Auth0Error } from './client.js';
import type { Auth0User, SourceRecord } from './types.js';

/** Every field of Auth0User the mapping reads (JSON exports carry whole objects: identities, metadata). */
export const EXPORT_FIELDS = [
  'user_id',
  'email',
  'email_verified',
  'username',
  'given_name',
  'family_name',
  'name',
  'nickname',
  'picture',
  'phone_number',
  'phone_verified',
  'created_at',
  'updated_at',
  'last_login',
  'blocked',
  'user_metadata',
  'app_metadata',
  'identities',
  'multifactor',
] as const;

/** Where an export stands: what the runner keeps in its checkpoint to resume without a new job. */
export interface ExportState {
  jobId?: string;
  /** A complete download (never the `.part` file). */
  file?: string;
}

export type ExportEvent =
  | {
      type: 'export';
      state: 'created' | 'pending' | 'processing' | 'completed';
      jobId: string;
      percentDone?: number;
    }
  | {
      type: 'export';
      state: 'downloading' | 'downloaded' | 'reused';
      jobId?: string;
      file: string;
      bytes?: number;
    };

export interface ExportJobOptions {
  dataDir: string;
  /** Only the users of this connection (default: the whole tenant). */
  connectionId?: string;
  /** First poll interval (grows ×1.5 up to maxPollMs). */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up waiting for the job after this long (default 6 h). */
  timeoutMs?: number;
  onEvent?: (e: ExportEvent) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function exportPath(dataDir: string, jobId: string): string {
  return join(dataDir, 'migrate', `auth0-${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}.ndjson.gz`);
}

/** Makes (or resumes) the export and returns the complete downloaded file. `state` is updated as it goes. */
export async function fetchUsersExport(
  client: Auth0Client,
  state: ExportState,
  opts: ExportJobOptions,
): Promise<string> {
  if (state.file && existsSync(state.file)) {
    opts.onEvent?.({ type: 'export', state: 'reused', jobId: state.jobId, file: state.file });
    return state.file;
  }
  if (state.jobId && existsSync(exportPath(opts.dataDir, state.jobId))) {
    state.file = exportPath(opts.dataDir, state.jobId);
    opts.onEvent?.({ type: 'export', state: 'reused', jobId: state.jobId, file: state.file });
    return state.file;
  }
  let location = state.jobId ? await pollJob(client, state.jobId, opts).catch(expired) : undefined;
  if (!location) {
    const job = await client.call('POST /jobs/users-exports', () =>
      client.mgmt.jobs.usersExports.create({
        format: 'json',
        fields: EXPORT_FIELDS.map((name) => ({ name })),
        ...(opts.connectionId ? { connection_id: opts.connectionId } : {}),
      }),
    );
    state.jobId = job.id;
    state.file = undefined;
    opts.onEvent?.({ type: 'export', state: 'created', jobId: job.id });
    location = await pollJob(client, job.id, opts);
  }
  const jobId = state.jobId!;
  const file = exportPath(opts.dataDir, jobId);
  mkdirSync(join(opts.dataDir, 'migrate'), { recursive: true });
  opts.onEvent?.({ type: 'export', state: 'downloading', jobId, file });
  let first = true;
  // The location is a short-lived pre-signed URL: a retry asks the job for a fresh one.
  await client.call(`download of export ${jobId}`, async () => {
    const url = first ? location! : await pollJob(client, jobId, opts);
    first = false;
    await download(client, url, `${file}.part`);
  });
  renameSync(`${file}.part`, file);
  state.file = file;
  opts.onEvent?.({ type: 'export', state: 'downloaded', jobId, file, bytes: statSync(file).size });
  return file;
}

/** A resumed job Auth0 no longer knows (jobs expire): make a new one instead. */
function expired(err: unknown): undefined {
  if (err instanceof Auth0Error && err.status === 404) return undefined;
  throw err;
}

/** Polls the job until it completes (its download location) or fails. */
async function pollJob(client: Auth0Client, jobId: string, opts: ExportJobOptions): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 6 * 3_600_000);
  let wait = opts.pollMs ?? 2_000;
  for (;;) {
    const job = await client.call(`GET /jobs/${jobId}`, () => client.mgmt.jobs.get(jobId));
    if (job.status === 'completed') {
      if (!job.location)
        throw new Auth0Error(`Auth0 users export job ${jobId} completed without a download location`);
      opts.onEvent?.({ type: 'export', state: 'completed', jobId });
      return job.location;
    }
    if (job.status === 'failed')
      throw new Auth0Error(
        `Auth0 users export job ${jobId} failed (see the tenant's logs; a new run creates a new job)`,
      );
    const state = job.status === 'pending' ? 'pending' : 'processing';
    opts.onEvent?.({ type: 'export', state, jobId, percentDone: job.percentage_done });
    if (Date.now() + wait > deadline)
      throw new Auth0Error(`Auth0 users export job ${jobId} did not complete in time (still ${job.status})`);
    await sleep(wait);
    wait = Math.min(opts.maxPollMs ?? 30_000, wait * 1.5);
  }
}

/** Streams the download to `part` (no Authorization header: the location is pre-signed). */
async function download(client: Auth0Client, url: string, part: string): Promise<void> {
  const res = await client.fetch(url, { method: 'GET' });
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    // Classified by the retry loop: 5xx back off; an expired link (403/404) is retried with a fresh location.
    throw new ManagementError({
      message: 'export download failed',
      statusCode: res.status >= 500 ? res.status : 503,
      body: { error: `the export download answered ${res.status}` },
    });
  }
  await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), createWriteStream(part));
}

/** The export's users, one by one (gunzipped and parsed as a stream: memory stays flat). */
export async function* readUsersExport(file: string): AsyncGenerator<SourceRecord<Auth0User>> {
  const gunzip = createGunzip();
  const text = createReadStream(file)
    .on('error', (err) => gunzip.destroy(err))
    .pipe(gunzip)
    .setEncoding('utf8');
  for await (const r of readImportRecords(text as AsyncIterable<string>)) {
    if (r.error) yield { index: r.index, error: r.error };
    else if (!r.value || typeof r.value !== 'object' || Array.isArray(r.value))
      yield { index: r.index, error: 'not a JSON object' };
    else yield { index: r.index, value: r.value as Auth0User };
  }
}
