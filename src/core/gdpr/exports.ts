/**
 * Data exports (GDPR Art. 15 access, Art. 20 portability) through the job queue. A request is a
 * `gdpr_requests` row and a `gdpr.export` job enqueued in the same transaction (so a job exists exactly when the
 * request does); a worker on any node builds the archive (./archive.ts) and stores it; the user — or an admin —
 * downloads it for GDPR_EXPORT_LINK_HOURS, then `cleanup.exports` deletes it. One open export per user: the
 * database refuses a second (partial unique index, migration 0011).
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Deps } from '../deps.js';
import { conflict, isJanuaError, notFound, validation } from '../errors.js';
import { audit, type RequestContext, SYSTEM_CONTEXT } from '../events/events.js';
import { inBatches } from '../jobs/cleanup.js';
import type { JobKind } from '../jobs/kinds.js';
import { enqueue } from '../jobs/queue.js';
import { isUniqueViolation } from '../orgs/service.js';
import { toDate, toDateOrNull } from '../store/codec.js';
import { deletePicked } from '../store/repos/delete-picked.js';
import { insertGdprRequest } from '../store/repos/gdpr-requests.js';
import type { GdprRequestsTable } from '../store/schema.js';
import type { Executor } from '../store/store.js';
import { isPrivileged, requireSelfOrAdmin } from '../users/admin-access.js';
import { findUserIn } from '../users/service.js';
import { buildArchive, EXPORT_FORMATS, type ExportFormat } from './archive.js';
import type { ProviderDeps } from './provider.js';
import { collectUserData } from './registry.js';

export const EXPORT_KIND = 'gdpr.export';
export const DOWNLOAD_PATH = (id: string) => `/api/v1/compliance/data-export/${id}/download`;

export type ExportDeps = ProviderDeps & Pick<Deps, 'peppers'>;

export interface PublicExport {
  id: string;
  user_id: string;
  status: string;
  format: ExportFormat;
  created_at: string;
  completed_at: string | null;
  /** When the download link stops working. */
  expires_at: string | null;
  /** Present while the archive can be downloaded (bearer token of the user or an admin). */
  download_url: string | null;
  last_error: string | null;
}

function present(r: Selectable<GdprRequestsTable>, now: Date): PublicExport {
  const expires = toDateOrNull(r.expires_at);
  const live = r.status === 'completed' && expires !== null && expires > now;
  return {
    id: r.id,
    user_id: r.user_id,
    status: r.status,
    format: (r.format ?? 'zip') as ExportFormat,
    created_at: toDate(r.created_at).toISOString(),
    completed_at: toDateOrNull(r.completed_at)?.toISOString() ?? null,
    expires_at: expires?.toISOString() ?? null,
    download_url: live ? DOWNLOAD_PATH(r.id) : null,
    last_error: r.last_error,
  };
}

function checkFormat(format: string | undefined): ExportFormat {
  const f = format ?? 'zip';
  if (!(EXPORT_FORMATS as readonly string[]).includes(f))
    throw validation(`format must be one of ${EXPORT_FORMATS.join(', ')}`, { format: 'invalid' });
  return f as ExportFormat;
}

/** Queues an export of `idOrEmail` (the caller themself, or anyone for an admin). */
export async function requestExport(
  deps: ExportDeps,
  idOrEmail: string,
  input: { format?: string | undefined },
  ctx: RequestContext,
): Promise<PublicExport> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const format = checkFormat(input.format);
  const user = await findUserIn(deps.store.db, idOrEmail);
  const now = deps.clock.now();
  const id = randomUUID();
  try {
    await deps.store.transaction(async (tx) => {
      await insertGdprRequest(
        tx,
        {
          id,
          kind: 'export',
          userId: user.id,
          requestedBy: ctx.actorId ?? null,
          requestedByType: ctx.actorType ?? 'user',
          format,
        },
        now,
      );
      const job = await enqueue(tx, deps, EXPORT_KIND, { request_id: id }, { maxAttempts: 5 });
      await tx.updateTable('gdpr_requests').set({ job_id: job.id }).where('id', '=', id).execute();
      await audit(
        tx,
        ctx,
        {
          action: 'gdpr.export.requested',
          targetType: 'user',
          targetId: user.id,
          metadata: { request_id: id, format },
        },
        now,
      );
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('An export for this account is already being prepared');
    throw err;
  }
  return getExport(deps, id, ctx);
}

/** The request `id` if the caller may see it; another user's is NOT_FOUND (it reveals nothing). */
async function visible(ex: Executor, id: string, ctx: RequestContext) {
  const r = await ex
    .selectFrom('gdpr_requests')
    .selectAll()
    .where('id', '=', id)
    .where('kind', '=', 'export')
    .executeTakeFirst();
  if (!r || (!isPrivileged(ctx) && r.user_id !== ctx.actorId)) throw notFound(`Export ${id} not found`);
  return r;
}

export async function getExport(deps: Pick<Deps, 'store' | 'clock'>, id: string, ctx: RequestContext) {
  return present(await visible(deps.store.db, id, ctx), deps.clock.now());
}

/** A user's exports, newest first (an admin's `user` may be anyone). */
export async function listExports(
  deps: Pick<Deps, 'store' | 'clock'>,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<PublicExport[]> {
  requireSelfOrAdmin(ctx, idOrEmail);
  const user = await findUserIn(deps.store.db, idOrEmail);
  const rows = await deps.store.db
    .selectFrom('gdpr_requests')
    .selectAll()
    .where('kind', '=', 'export')
    .where('user_id', '=', user.id)
    .orderBy('created_at', 'desc')
    .limit(100)
    .execute();
  const now = deps.clock.now();
  return rows.map((r) => present(r, now));
}

export interface Download {
  bytes: Buffer;
  contentType: string;
  fileName: string;
  sha256: string;
}

/** The archive of a finished export, while its link lives; audited. */
export async function downloadExport(
  deps: Pick<Deps, 'store' | 'clock'>,
  id: string,
  ctx: RequestContext,
): Promise<Download> {
  const r = await visible(deps.store.db, id, ctx);
  if (r.status === 'pending' || r.status === 'running')
    throw conflict('The export is not ready yet; try again in a moment');
  const now = deps.clock.now();
  const a = await deps.store.db
    .selectFrom('gdpr_exports')
    .selectAll()
    .where('request_id', '=', id)
    .executeTakeFirst();
  if (r.status !== 'completed' || !a || toDate(a.expires_at) <= now)
    throw notFound('This export link has expired (or the export did not finish); request a new export');
  await deps.store.transaction((tx) =>
    audit(
      tx,
      ctx,
      {
        action: 'gdpr.export.downloaded',
        targetType: 'user',
        targetId: r.user_id,
        metadata: { request_id: id },
      },
      now,
    ),
  );
  return {
    bytes: Buffer.from(a.archive, 'base64'),
    contentType: a.content_type,
    fileName: a.file_name,
    sha256: a.sha256,
  };
}

/** The `gdpr.export` job: builds and stores the archive. Idempotent: a finished request is left alone. */
export function exportJobKind(deps: ExportDeps): JobKind {
  return {
    kind: EXPORT_KIND,
    concurrency: 1,
    backoff: { baseMs: 5_000, maxMs: 300_000 },
    async handle(job) {
      const { request_id: id } = job.payload as { request_id: string };
      const r = await deps.store.db
        .selectFrom('gdpr_requests')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!r || (r.status !== 'pending' && r.status !== 'running')) return;
      const fail = (reason: string) =>
        deps.store.db
          .updateTable('gdpr_requests')
          .set({ status: 'failed', last_error: reason, updated_at: deps.clock.now() })
          .where('id', '=', id)
          .where('status', 'in', ['pending', 'running'])
          .execute();
      let data: Awaited<ReturnType<typeof collectUserData>>;
      try {
        data = await collectUserData(deps, r.user_id);
      } catch (err) {
        if (isJanuaError(err) && err.code === 'NOT_FOUND_ERROR')
          return void (await fail('the account no longer exists'));
        throw err;
      }
      const now = deps.clock.now();
      const archive = buildArchive(data, (r.format ?? 'zip') as ExportFormat, now);
      const expiresAt = new Date(now.getTime() + deps.config.gdprExportLinkHours * 3_600_000);
      await deps.store.transaction(async (tx) => {
        const done = await tx
          .updateTable('gdpr_requests')
          .set({
            status: 'completed',
            completed_at: now,
            expires_at: expiresAt,
            updated_at: now,
            last_error: null,
          })
          .where('id', '=', id)
          .where('status', 'in', ['pending', 'running'])
          .executeTakeFirst();
        if (Number(done.numUpdatedRows) === 0) return;
        await tx
          .insertInto('gdpr_exports')
          .values({
            request_id: id,
            content_type: archive.contentType,
            file_name: archive.fileName,
            archive: archive.bytes.toString('base64'),
            sha256: archive.sha256,
            size_bytes: archive.bytes.length,
            created_at: now,
            expires_at: expiresAt,
          })
          .execute();
        await audit(
          tx,
          SYSTEM_CONTEXT,
          {
            action: 'gdpr.export.completed',
            targetType: 'user',
            targetId: r.user_id,
            metadata: {
              request_id: id,
              format: r.format,
              sha256: archive.sha256,
              bytes: archive.bytes.length,
            },
          },
          now,
        );
      });
    },
  };
}

/** `cleanup.exports`: archives past their link's life are deleted, their requests marked `expired`. */
export async function cleanupExports(ex: Executor, now: Date, signal?: AbortSignal): Promise<number> {
  const n = await inBatches(
    (limit) =>
      deletePicked(ex, 'gdpr_exports', 'request_id', (q) => q.where('expires_at', '<=', now).limit(limit)),
    signal,
  );
  await ex
    .updateTable('gdpr_requests')
    .set({ status: 'expired', updated_at: now })
    .where('kind', '=', 'export')
    .where('status', '=', 'completed')
    .where('expires_at', '<=', now)
    .execute();
  return n;
}
