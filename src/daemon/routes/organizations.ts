/**
 * Organizations, members, invitations, transfer of ownership and switching the token's organization — with
 * the aliases the original SDK calls (`/invites…`, `PUT …/members/{user_id}`, `…/{id}/roles`).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import {
  acceptInvitation,
  createInvitation,
  type IssuedInvitation,
  listInvitations,
  NO_MAILER_MESSAGE,
  resendInvitation,
  revokeInvitation,
} from '../../core/orgs/invitations.js';
import {
  type Organization,
  presentInvitation,
  presentMember,
  presentOrganization,
  presentRole,
} from '../../core/orgs/model.js';
import { createRole, listRoles } from '../../core/orgs/roles.js';
import {
  addMember,
  createOrganization,
  deleteOrganization,
  getOrganization,
  getOrganizationBySlug,
  listMembers,
  listMyOrganizations,
  removeMember,
  setMemberRole,
  switchOrganization,
  transferOwnership,
  updateOrganization,
} from '../../core/orgs/service.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, MessageSchema, signedInRoutes } from '../schemas.js';
import {
  AcceptBody,
  AddMemberBody,
  CreateInvitationBody,
  CreateOrganizationBody,
  Deleted,
  InvitationListQuery,
  InvitationSchema,
  InviteParams,
  IssuedInvitationSchema,
  MemberParams,
  MemberSchema,
  OrganizationSchema,
  OrgIdParams,
  RoleBody,
  RoleFields,
  RoleSchema,
  UpdateOrganizationBody,
} from './org-schemas.js';

const orgBody = (organization: Organization, role: string | null) => ({
  ...presentOrganization(organization),
  role,
});

export async function organizationRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['organizations'];
  const security = [{ bearer: [] }];
  const signedIn = signedInRoutes(app, 'organizations');
  const me = (request: FastifyRequest) => request.auth!.user;
  const issued = (i: IssuedInvitation) => ({
    ...presentInvitation(i.invitation, deps.clock.now()),
    token: i.token,
    message: NO_MAILER_MESSAGE,
  });

  r.post(
    '/organizations',
    signedIn('Create an organization; the caller becomes its owner', {
      body: CreateOrganizationBody,
      response: { 201: OrganizationSchema, ...errors(401, 409, 422) },
    }),
    async (request, reply) => {
      const b = request.body;
      const o = await createOrganization(
        deps,
        me(request),
        {
          name: b.name,
          slug: b.slug,
          description: b.description,
          logoUrl: b.logo_url,
          metadata: b.metadata,
        },
        requestContext(request),
      );
      reply.status(201);
      return orgBody(o.organization, o.role);
    },
  );

  r.get(
    '/organizations',
    signedIn("The caller's organizations (a bare array, as the original SDK expects)", {
      response: { 200: Type.Array(OrganizationSchema), ...errors(401) },
    }),
    async (request) =>
      (await listMyOrganizations(deps, me(request).id)).map((o) => orgBody(o.organization, o.role)),
  );

  r.get(
    '/organizations/by-slug/:slug',
    signedIn('An organization by slug', {
      params: Type.Object({ slug: Type.String({ maxLength: 100 }) }),
      response: { 200: OrganizationSchema, ...errors(401, 403, 404) },
    }),
    async (request) => {
      const a = await getOrganizationBySlug(deps, me(request), request.params.slug);
      return orgBody(a.organization, a.role);
    },
  );

  r.get(
    '/organizations/:org_id',
    signedIn('An organization (organization:read)', {
      params: OrgIdParams,
      response: { 200: OrganizationSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) => {
      const a = await getOrganization(deps, me(request), request.params.org_id);
      return orgBody(a.organization, a.role);
    },
  );

  r.patch(
    '/organizations/:org_id',
    signedIn('Update an organization (organization:update)', {
      params: OrgIdParams,
      body: UpdateOrganizationBody,
      response: { 200: OrganizationSchema, ...errors(401, 403, 404, 409, 422) },
    }),
    async (request) => {
      const b = request.body;
      const a = await updateOrganization(
        deps,
        me(request),
        request.params.org_id,
        {
          name: b.name,
          slug: b.slug,
          description: b.description,
          logoUrl: b.logo_url,
          metadata: b.metadata,
          requireMfa: b.require_mfa,
        },
        requestContext(request),
      );
      return orgBody(a.organization, a.role);
    },
  );

  r.delete(
    '/organizations/:org_id',
    signedIn('Delete an organization with its members, roles and invitations (organization:delete)', {
      params: OrgIdParams,
      response: { 200: Deleted, ...errors(401, 403, 404, 422) },
    }),
    async (request) => {
      const o = await deleteOrganization(deps, me(request), request.params.org_id, requestContext(request));
      return { message: `Organization ${o.slug} deleted`, id: o.id };
    },
  );

  r.get(
    '/organizations/:org_id/members',
    signedIn('Members (members:read)', {
      params: OrgIdParams,
      response: { 200: Type.Array(MemberSchema), ...errors(401, 403, 404, 422) },
    }),
    async (request) => (await listMembers(deps, me(request), request.params.org_id)).map(presentMember),
  );

  r.post(
    '/organizations/:org_id/members',
    signedIn('Add an existing user by user_id or email (members:write; role defaults to member)', {
      params: OrgIdParams,
      body: AddMemberBody,
      response: { 201: MemberSchema, ...errors(401, 403, 404, 409, 422) },
    }),
    async (request, reply) => {
      const b = request.body;
      const m = await addMember(
        deps,
        me(request),
        request.params.org_id,
        { userId: b.user_id, email: b.email, role: b.role ?? 'member' },
        requestContext(request),
      );
      reply.status(201);
      return presentMember(m);
    },
  );

  r.delete(
    '/organizations/:org_id/members/:user_id',
    signedIn('Remove a member (members:delete), or leave (your own user_id)', {
      params: MemberParams,
      response: { 200: MessageSchema, ...errors(401, 403, 404, 409, 422) },
    }),
    async (request) => {
      const m = await removeMember(
        deps,
        me(request),
        request.params.org_id,
        request.params.user_id,
        requestContext(request),
      );
      return { message: `${m.email} removed from the organization` };
    },
  );

  for (const [url, hide] of [
    ['/organizations/:org_id/members/:user_id/role', false],
    ['/organizations/:org_id/members/:user_id', true],
  ] as const) {
    r.put(
      url,
      signedIn("Change a member's role (members:write; the owner role needs owners:manage)", {
        hide,
        params: MemberParams,
        body: RoleBody,
        response: { 200: MemberSchema, ...errors(401, 403, 404, 409, 422) },
      }),
      async (request) =>
        presentMember(
          await setMemberRole(
            deps,
            me(request),
            request.params.org_id,
            request.params.user_id,
            request.body.role,
            requestContext(request),
          ),
        ),
    );
  }

  r.post(
    '/organizations/:org_id/transfer-ownership',
    signedIn('Make a member the owner; the previous owner becomes admin (owners:manage)', {
      params: OrgIdParams,
      body: Type.Object({ user_id: Type.String({ format: 'uuid' }) }),
      response: {
        200: Type.Object({ message: Type.String(), members: Type.Array(MemberSchema) }),
        ...errors(401, 403, 404, 409, 422),
      },
    }),
    async (request) => {
      const changed = await transferOwnership(
        deps,
        me(request),
        request.params.org_id,
        request.body.user_id,
        requestContext(request),
      );
      return { message: 'Ownership transferred', members: changed.map(presentMember) };
    },
  );

  for (const [base, hide] of [
    ['invitations', false],
    ['invites', true],
  ] as const) {
    r.post(
      `/organizations/:org_id/${base}`,
      signedIn('Invite by email (invitations:write); the token is in this response only', {
        hide,
        params: OrgIdParams,
        body: CreateInvitationBody,
        response: { 201: IssuedInvitationSchema, ...errors(401, 403, 404, 409, 422) },
      }),
      async (request, reply) => {
        const i = await createInvitation(
          deps,
          me(request),
          request.params.org_id,
          { email: request.body.email, role: request.body.role ?? 'member' },
          requestContext(request),
        );
        reply.status(201);
        return issued(i);
      },
    );

    r.get(
      `/organizations/:org_id/${base}`,
      signedIn('Invitations, newest first (invitations:read; ?status=pending|accepted|revoked|expired)', {
        hide,
        params: OrgIdParams,
        querystring: InvitationListQuery,
        response: { 200: Type.Array(InvitationSchema), ...errors(401, 403, 404, 422) },
      }),
      async (request) => {
        const list = await listInvitations(deps, me(request), request.params.org_id, request.query.status);
        const now = deps.clock.now();
        return list.map((i) => presentInvitation(i, now));
      },
    );

    r.delete(
      `/organizations/:org_id/${base}/:invite_id`,
      signedIn('Revoke an invitation (invitations:write)', {
        hide,
        params: InviteParams,
        response: { 200: InvitationSchema, ...errors(401, 403, 404, 409, 422) },
      }),
      async (request) =>
        presentInvitation(
          await revokeInvitation(
            deps,
            me(request),
            request.params.org_id,
            request.params.invite_id,
            requestContext(request),
          ),
          deps.clock.now(),
        ),
    );

    r.post(
      `/organizations/:org_id/${base}/:invite_id/resend`,
      signedIn('A new token and a new 7-day expiry; the old token stops working (invitations:write)', {
        hide,
        params: InviteParams,
        response: { 200: IssuedInvitationSchema, ...errors(401, 403, 404, 409, 422) },
      }),
      async (request) =>
        issued(
          await resendInvitation(
            deps,
            me(request),
            request.params.org_id,
            request.params.invite_id,
            requestContext(request),
          ),
        ),
    );

    r.post(
      `/organizations/${base}/accept`,
      signedIn('Accept an invitation as the invited (signed-in) user', {
        hide,
        body: AcceptBody,
        response: {
          200: Type.Object({
            message: Type.String(),
            organization: OrganizationSchema,
            member: MemberSchema,
          }),
          ...errors(400, 401, 403, 404, 409, 422),
        },
      }),
      async (request) => {
        const a = await acceptInvitation(deps, me(request), request.body.token, requestContext(request));
        return {
          message: `You joined ${a.organization.name}`,
          organization: orgBody(a.organization, a.member.role),
          member: presentMember(a.member),
        };
      },
    );
  }

  r.get(
    '/organizations/:org_id/roles',
    signedIn("Built-in roles and the organization's custom roles (roles:read)", {
      params: OrgIdParams,
      response: { 200: Type.Array(RoleSchema), ...errors(401, 403, 404, 422) },
    }),
    async (request) => listRoles(deps, me(request), request.params.org_id),
  );

  r.post(
    '/organizations/:org_id/roles',
    signedIn('Create a custom role (roles:write); = POST /api/v1/roles with organization_id', {
      params: OrgIdParams,
      body: Type.Object(RoleFields),
      response: { 201: RoleSchema, ...errors(401, 403, 404, 409, 422) },
    }),
    async (request, reply) => {
      const b = request.body;
      const role = await createRole(
        deps,
        me(request),
        { organizationId: request.params.org_id, ...b },
        requestContext(request),
      );
      reply.status(201);
      return presentRole(role);
    },
  );

  r.post(
    '/auth/switch-organization',
    {
      onRequest: app.requireAuth,
      schema: {
        tags: ['auth', ...tags],
        security,
        summary:
          'A new access token for this session carrying the `org` claim (organization_id null: no organization)',
        body: Type.Object({ organization_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]) }),
        response: {
          200: Type.Object({
            access_token: Type.String(),
            token_type: Type.Literal('bearer'),
            expires_in: Type.Integer(),
            organization_id: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors(401, 404, 422),
        },
      },
    },
    async (request, reply) => {
      reply.header('pragma', 'no-cache'); // carries a token: RFC 6749 §5.1
      return switchOrganization(
        deps,
        { user: me(request), sessionId: request.auth!.session.id },
        request.body.organization_id,
      );
    },
  );
}
