/**
 * Data exports under /api/v1/compliance (API.md "Compliance": `POST /compliance/data-export`). Thin handlers
 * over core/gdpr/exports.ts: a user (or an admin for anyone) queues an export, follows it, and downloads the
 * archive with their bearer token while the link lives.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../core/gdpr/archive.js';
import { downloadExport, getExport, listExports, requestExport } from '../../core/gdpr/exports.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, Nullable } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const DateTime = Type.String({ format: 'date-time' });
const Format = Type.Unsafe<ExportFormat>(Type.String({ enum: [...EXPORT_FORMATS] }));

const ExportSchema = Type.Object({
  id: Uuid,
  user_id: Type.String(),
  status: Type.String({ description: 'pending, completed, failed, cancelled or expired' }),
  format: Format,
  created_at: DateTime,
  completed_at: Nullable(DateTime),
  expires_at: Nullable(DateTime),
  download_url: Nullable(Type.String({ description: 'While the archive can be downloaded' })),
  last_error: Nullable(Type.String()),
});
const RequestBody = Type.Object(
  {
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'Admins: whose data' })),
    format: Type.Optional(Format),
  },
  { additionalProperties: false },
);
const UserQuery = Type.Object({ user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })) });

const tags = ['compliance'];
const security = [{ bearer: [] }];

export async function complianceExportRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  app.addHook('onRequest', app.requireAuth);

  r.post(
    '/compliance/data-export',
    {
      schema: {
        tags,
        summary: 'Export a user’s data (GDPR Art. 15/20): queued; download the archive when it is completed',
        description:
          'The archive: one JSON file per personal-data provider and a manifest with SHA-256 checksums (zip), or one JSON document (json). Downloadable for GDPR_EXPORT_LINK_HOURS by the user or an admin.',
        security,
        body: Type.Optional(RequestBody),
        response: { 202: ExportSchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body ?? {};
      const e = await requestExport(
        deps,
        b.user_id ?? request.auth!.user.id,
        { format: b.format },
        requestContext(request),
      );
      return reply.code(202).send(e);
    },
  );

  r.get(
    '/compliance/data-export',
    {
      schema: {
        tags,
        summary: 'Your data exports, newest first (admins: `?user_id=`)',
        security,
        querystring: UserQuery,
        response: { 200: Type.Object({ data: Type.Array(ExportSchema) }), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => ({
      data: await listExports(deps, request.query.user_id ?? request.auth!.user.id, requestContext(request)),
    }),
  );

  r.get(
    '/compliance/data-export/:id',
    {
      schema: {
        tags,
        summary: 'One data export: its status and download link',
        security,
        params: Type.Object({ id: Uuid }),
        response: { 200: ExportSchema, ...errors(401, 404, 422) },
      },
    },
    async (request) => getExport(deps, request.params.id, requestContext(request)),
  );

  r.get(
    '/compliance/data-export/:id/download',
    {
      schema: {
        tags,
        summary: 'Download the archive (the user or an admin, while the link lives)',
        security,
        params: Type.Object({ id: Uuid }),
        produces: ['application/zip', 'application/json'],
        response: { ...errors(401, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const d = await downloadExport(deps, request.params.id, requestContext(request));
      return (
        reply
          .header('content-type', d.contentType)
          .header('content-disposition', `attachment; filename="${d.fileName}"`)
          .header('x-content-sha256', d.sha256)
          .header('cache-control', 'no-store')
          // A Buffer is sent as it is (fastify serializes only objects); the typed reply only knows the errors.
          .send(d.bytes as never)
      );
    },
  );
}
