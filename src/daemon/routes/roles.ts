/** Roles: built-in and per-organization custom roles (`/api/v1/roles`). */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { presentRole } from '../../core/orgs/model.js';
import { createRole, deleteRole, listRoles, updateRole } from '../../core/orgs/roles.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors } from '../schemas.js';
import { Deleted, RoleFields, RoleParams, RoleSchema, UpdateRoleBody } from './org-schemas.js';

export async function roleRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['rbac'];
  const security = [{ bearer: [] }];
  const auth = { onRequest: app.requireAuth };

  r.get(
    '/roles',
    {
      ...auth,
      schema: {
        tags,
        security,
        summary:
          'Built-in roles with their permissions; with organization_id also its custom roles (roles:read)',
        querystring: Type.Object({ organization_id: Type.Optional(Type.String({ format: 'uuid' })) }),
        response: { 200: Type.Array(RoleSchema), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => listRoles(deps, request.auth!.user, request.query.organization_id),
  );

  r.post(
    '/roles',
    {
      ...auth,
      schema: {
        tags,
        security,
        summary: 'Create a custom role (roles:write; you may grant only permissions you hold)',
        body: Type.Object({ organization_id: Type.String({ format: 'uuid' }), ...RoleFields }),
        response: { 201: RoleSchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { organization_id, ...b } = request.body;
      const role = await createRole(
        deps,
        request.auth!.user,
        { organizationId: organization_id, ...b },
        requestContext(request),
      );
      reply.status(201);
      return presentRole(role);
    },
  );

  r.patch(
    '/roles/:id',
    {
      ...auth,
      schema: {
        tags,
        security,
        summary: 'Rename or change a custom role (roles:write); members holding it follow a rename',
        params: RoleParams,
        body: UpdateRoleBody,
        response: { 200: RoleSchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request) =>
      presentRole(
        await updateRole(deps, request.auth!.user, request.params.id, request.body, requestContext(request)),
      ),
  );

  r.delete(
    '/roles/:id',
    {
      ...auth,
      schema: {
        tags,
        security,
        summary: 'Delete a custom role that no member or pending invitation holds (roles:write)',
        params: RoleParams,
        response: { 200: Deleted, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const role = await deleteRole(deps, request.auth!.user, request.params.id, requestContext(request));
      return { message: `Role ${role.name} deleted`, id: role.id };
    },
  );
}
