/**
 * Consent records under /api/v1/compliance/consent (core/gdpr/consent.ts). A signed-in user reads and records
 * their own; a platform admin may name anyone with `?user_id=` (id or email) and records on their behalf
 * (source `admin`). Another user's → 403 before any lookup. Validation (purpose, legal basis, version,
 * source) is the core's, so the API and the CLI refuse the same input with the same 422 body.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { LEGAL_BASES, listConsents, recordConsent, withdrawConsent } from '../../core/gdpr/consent.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, Nullable, signedInRoutes } from '../schemas.js';

const DateTime = Type.String({ format: 'date-time' });
const Field = (description: string) => Type.String({ maxLength: 256, description });

const StateFields = {
  purpose: Type.String(),
  granted: Type.Boolean(),
  legal_basis: Type.String(),
  version: Nullable(Type.String()),
  source: Type.String(),
  recorded_at: DateTime,
};
const StateSchema = Type.Object(StateFields);
const RecordSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  ...StateFields,
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
});
const ListSchema = Type.Object({
  user_id: Type.String(),
  consents: Type.Array(StateSchema, { description: 'Current state per purpose (its newest record)' }),
  history: Type.Array(RecordSchema, { description: 'Every record, oldest first (append-only)' }),
});
const WithdrawSchema = Type.Object({
  ...StateFields,
  changed: Type.Boolean({ description: 'false when the purpose was already withdrawn (nothing written)' }),
});

const UserQuery = Type.Object({
  user_id: Type.Optional(
    Type.String({ minLength: 1, maxLength: 320, description: 'Admins only: the user (id or email)' }),
  ),
});
const RecordBody = Type.Object({
  purpose: Field('1–64 of a-z 0-9 _ . : - (e.g. `marketing.email`)'),
  granted: Type.Optional(Type.Boolean({ description: 'default true; false records a refusal' })),
  legal_basis: Type.Optional(Field(`GDPR Art. 6(1): ${LEGAL_BASES.join(', ')} (default consent)`)),
  version: Type.Optional(Nullable(Field('Version of the text agreed to, at most 64 characters'))),
  source: Type.Optional(Field('at most 64 of a-z 0-9 _ . : - (default api; admin and cli are reserved)')),
});
const WithdrawBody = Type.Object({ purpose: Field('The purpose to withdraw') });
const PurposeParams = Type.Object({ purpose: Field('The purpose to withdraw') });

export async function complianceConsentRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const route = signedInRoutes(app, 'compliance');
  /** The user acted on: `?user_id=` or the caller. */
  const subject = (query: { user_id?: string | undefined }, request: FastifyRequest) =>
    query.user_id ?? request.auth!.user.id;

  r.get(
    '/compliance/consent',
    route('Get user consent records: current state per purpose and the append-only history', {
      querystring: UserQuery,
      response: { 200: ListSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) => listConsents(deps, subject(request.query, request), requestContext(request)),
  );

  r.post(
    '/compliance/consent',
    route('Record consent (or a refusal) for a purpose', {
      querystring: UserQuery,
      body: RecordBody,
      response: { 201: RecordSchema, ...errors(400, 401, 403, 404, 422) },
    }),
    async (request, reply) => {
      const out = await recordConsent(
        deps,
        subject(request.query, request),
        request.body,
        requestContext(request),
      );
      reply.status(201);
      return out;
    },
  );

  r.post(
    '/compliance/consent/withdraw',
    route('Withdraw consent for a purpose (idempotent)', {
      querystring: UserQuery,
      body: WithdrawBody,
      response: { 200: WithdrawSchema, ...errors(400, 401, 403, 404, 422) },
    }),
    async (request) =>
      withdrawConsent(deps, subject(request.query, request), request.body.purpose, requestContext(request)),
  );

  r.delete(
    '/compliance/consent/:purpose',
    route('Withdraw consent for a purpose (idempotent)', {
      querystring: UserQuery,
      params: PurposeParams,
      response: { 200: WithdrawSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) =>
      withdrawConsent(deps, subject(request.query, request), request.params.purpose, requestContext(request)),
  );
}
