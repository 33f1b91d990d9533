/** `GET /api/v1/rbac/check`: does a user hold a permission in an organization? */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { checkPermission } from '../../core/orgs/roles.js';
import { errors } from '../schemas.js';

export async function rbacRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/rbac/check',
    {
      onRequest: app.requireAuth,
      schema: {
        tags: ['rbac'],
        security: [{ bearer: [] }],
        summary: 'Whether the caller (platform admins: any user_id) holds a permission in an organization',
        querystring: Type.Object({
          permission: Type.String({ minLength: 1, maxLength: 100 }),
          resource_id: Type.Optional(Type.String({ maxLength: 100 })),
          user_id: Type.Optional(Type.String({ format: 'uuid' })),
        }),
        response: {
          200: Type.Object({
            allowed: Type.Boolean(),
            permission: Type.String(),
            resource_id: Type.Union([Type.String(), Type.Null()]),
            user_id: Type.String(),
            role: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors(401, 403, 404, 422),
        },
      },
    },
    async (request) =>
      checkPermission(opts.deps, request.auth!.user, {
        permission: request.query.permission,
        resourceId: request.query.resource_id,
        userId: request.query.user_id,
      }),
  );
}
