/**
 * Webhook subscriptions under /api/v1/webhooks (issue 12), with the original SDK's spellings (API.md, "Client
 * compatibility"): the trailing-slash paths (the router ignores trailing slashes), `PUT` as `PATCH`,
 * `regenerate-secret` as `rotate-secret`. Thin over core/webhooks; deliveries, stats, the catalogue and
 * signature verification are in ./webhook-deliveries.ts.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../../core/deps.js';
import type { Actor } from '../../core/rbac/access.js';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointWithSecret,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  sendTestEvent,
  updateEndpoint,
} from '../../core/webhooks/endpoints.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, signedInRoutes } from '../schemas.js';
import {
  CreateBody,
  DeletedSchema,
  EndpointSchema,
  IdParams,
  ListQuery,
  ListSchema,
  TestSchema,
  UpdateBody,
} from './webhook-schemas.js';

export const actorOf = (request: FastifyRequest): Actor => ({
  id: request.auth!.user.id,
  isAdmin: request.auth!.user.isAdmin,
});

/**
 * The endpoint with its secret in clear (create, rotate): the one time it is shown. Not to be cached:
 * `Cache-Control: no-store` is every answer's default, and `Pragma: no-cache` for HTTP/1.0 caches.
 */
function withSecret(reply: FastifyReply, r: EndpointWithSecret) {
  reply.header('pragma', 'no-cache');
  return { ...r.endpoint, secret: r.secret };
}

export async function webhookRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const signedIn = signedInRoutes(app, 'webhooks');

  r.post(
    '/webhooks',
    signedIn(
      'Subscribe an endpoint (organization admins for their organization; platform admins for the platform). The answer carries the signing secret, shown only this once',
      { body: CreateBody, response: { 201: EndpointSchema, ...errors(401, 403, 404, 422) } },
    ),
    async (request, reply) => {
      const b = request.body;
      const made = await createEndpoint(
        deps,
        actorOf(request),
        {
          url: b.url,
          events: b.events,
          description: b.description,
          headers: b.headers,
          organizationId: b.organization_id,
        },
        requestContext(request),
      );
      reply.status(201);
      return withSecret(reply, made);
    },
  );

  r.get(
    '/webhooks',
    signedIn(
      'Endpoints the caller manages: every one for platform admins, else those of organizations where the caller holds webhooks:read',
      { querystring: ListQuery, response: { 200: ListSchema, ...errors(401, 403, 404, 422) } },
    ),
    async (request) => {
      const q = request.query;
      const org = q.organization_id === 'platform' ? null : q.organization_id;
      return listEndpoints(deps, actorOf(request), {
        organizationId: org,
        status: q.is_active === undefined ? undefined : q.is_active ? 'active' : 'disabled',
        page: q.page,
        perPage: q.per_page,
      });
    },
  );

  r.get(
    '/webhooks/:id',
    signedIn('One endpoint (its secret masked)', {
      params: IdParams,
      response: { 200: EndpointSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) => getEndpoint(deps, actorOf(request), request.params.id),
  );

  const updateSchema = {
    params: IdParams,
    body: UpdateBody,
    response: { 200: EndpointSchema, ...errors(401, 403, 404, 409, 422) },
  };
  const updateSummary = {
    patch: 'Change an endpoint: only the fields given; `is_active` disables or enables it',
    put: "The original SDK's spelling of PATCH (a partial update as well)",
  };
  for (const method of ['patch', 'put'] as const)
    r[method]('/webhooks/:id', signedIn(updateSummary[method], updateSchema), async (request) => {
      const b = request.body ?? {};
      return updateEndpoint(
        deps,
        actorOf(request),
        request.params.id,
        {
          url: b.url,
          events: b.events,
          description: b.description,
          headers: b.headers,
          isActive: b.is_active,
        },
        requestContext(request),
      );
    });

  r.delete(
    '/webhooks/:id',
    signedIn('Delete an endpoint and its delivery history', {
      params: IdParams,
      response: { 200: DeletedSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) => {
      const e = await deleteEndpoint(deps, actorOf(request), request.params.id, requestContext(request));
      return { message: 'Webhook endpoint deleted', id: e.id };
    },
  );

  const rotateSummary =
    'A new signing secret, shown only in this answer; the old one keeps signing beside it for WEBHOOK_SECRET_GRACE_HOURS';
  for (const [path, summary] of [
    ['/webhooks/:id/rotate-secret', rotateSummary],
    ['/webhooks/:id/regenerate-secret', `${rotateSummary} (the original SDK's spelling)`],
  ] as const)
    r.post(
      path,
      signedIn(summary, {
        params: IdParams,
        response: { 200: EndpointSchema, ...errors(401, 403, 404, 422) },
      }),
      async (request, reply) =>
        withSecret(
          reply,
          await rotateSecret(deps, actorOf(request), request.params.id, requestContext(request)),
        ),
    );

  r.post(
    '/webhooks/:id/test',
    signedIn('Queue one `webhook.test` event to this endpoint only; answers the delivery id to follow', {
      params: IdParams,
      response: { 200: TestSchema, ...errors(401, 403, 404, 409, 422) },
    }),
    async (request) => {
      const t = await sendTestEvent(deps, actorOf(request), request.params.id, requestContext(request));
      return {
        success: true,
        message: 'Test event queued',
        delivery_id: t.deliveryId,
        event_id: t.eventId,
      };
    },
  );
}
