/**
 * Erasure requests under /api/v1/compliance (API.md "Compliance": `POST /compliance/data-deletion`). Thin
 * handlers over core/gdpr/erasure-requests.ts: a user files, lists and cancels their own request; a platform
 * admin does so for anyone, lists every request and executes one at once.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import {
  cancelErasure,
  executeRequestNow,
  listErasureRequests,
  REQUEST_STATUSES,
  type RequestStatus,
  requestErasure,
} from '../../core/gdpr/erasure-requests.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, Nullable } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const DateTime = Type.String({ format: 'date-time' });
const Status = Type.Unsafe<RequestStatus>(Type.String({ enum: [...REQUEST_STATUSES] }));

const RequestSchema = Type.Object({
  id: Uuid,
  kind: Type.Literal('erasure'),
  user_id: Type.String({ description: 'The user; after execution, their pseudonym' }),
  status: Status,
  requested_by_type: Type.String(),
  reason: Nullable(Type.String()),
  created_at: DateTime,
  due_at: Nullable(DateTime),
  completed_at: Nullable(DateTime),
  cancelled_at: Nullable(DateTime),
  last_error: Nullable(Type.String({ description: 'Why a due erasure could not run yet' })),
});
const ReceiptSchema = Type.Object({
  id: Uuid,
  request_id: Nullable(Uuid),
  subject: Type.String({ description: 'The erased user’s pseudonym' }),
  executed_at: DateTime,
  executed_by_type: Type.String(),
  steps: Type.Record(Type.String(), Type.Integer(), {
    description: 'Rows removed or anonymized, per provider',
  }),
});
const ResultSchema = Type.Object({ request: RequestSchema, receipt: Type.Optional(ReceiptSchema) });
const FileBody = Type.Object(
  {
    user_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 320, description: 'Admins: whose account' }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    password: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Your current password, unless you signed in recently' }),
    ),
    immediate: Type.Optional(
      Type.Boolean({ description: 'Admins: erase now instead of after the grace period' }),
    ),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({
  user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
  status: Type.Optional(Status),
});
const CancelQuery = Type.Object({ user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })) });

const tags = ['compliance'];
const security = [{ bearer: [] }];

export async function complianceDeletionRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  app.addHook('onRequest', app.requireAuth);

  r.post(
    '/compliance/data-deletion',
    {
      schema: {
        tags,
        summary: 'Request erasure of an account (GDPR Art. 17), executed after the grace period',
        description:
          'Executed by `gdpr.erase-due` after GDPR_ERASURE_GRACE_DAYS; cancel meanwhile with DELETE. A user confirms with `password` unless signed in within MFA_RECENT_SIGNIN_MINUTES. Admins may name `user_id` and set `immediate`.',
        security,
        body: FileBody,
        response: { 200: ResultSchema, 202: ResultSchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const auth = request.auth!;
      const result = await requestErasure(
        deps,
        b.user_id ?? auth.user.id,
        { reason: b.reason, immediate: b.immediate, password: b.password },
        requestContext(request),
        auth.session,
      );
      return reply.code(result.receipt ? 200 : 202).send(result);
    },
  );

  r.get(
    '/compliance/data-deletion',
    {
      schema: {
        tags,
        summary: 'Erasure requests: yours, or (admins) anyone’s, due first',
        security,
        querystring: ListQuery,
        response: { 200: Type.Object({ data: Type.Array(RequestSchema) }), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const auth = request.auth!;
      const q = request.query;
      const user = q.user_id ?? (auth.user.isAdmin ? undefined : auth.user.id);
      return { data: await listErasureRequests(deps, { user, status: q.status }, requestContext(request)) };
    },
  );

  r.delete(
    '/compliance/data-deletion',
    {
      schema: {
        tags,
        summary: 'Cancel your pending erasure request (admins: `?user_id=`)',
        security,
        querystring: CancelQuery,
        response: { 200: Type.Object({ request: RequestSchema }), ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request) => ({
      request: await cancelErasure(
        deps,
        request.query.user_id ?? request.auth!.user.id,
        requestContext(request),
      ),
    }),
  );

  r.post(
    '/compliance/data-deletion/:id/execute',
    {
      schema: {
        tags,
        summary: 'Execute a pending erasure request now (platform admins)',
        security,
        params: Type.Object({ id: Uuid }),
        response: { 200: ResultSchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request) => executeRequestNow(deps, request.params.id, requestContext(request)),
  );
}
