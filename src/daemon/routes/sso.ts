/**
 * SSO configurations and domains under /api/v1/sso (issue 16). Thin over core/sso. The original SDK addresses a
 * configuration by its organization id (`/sso/configurations/{organization_id}`, `PUT` to update, API.md
 * "Client compatibility"): `{id}` is a configuration id or an organization id (then its newest connection).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import { isJanuaError } from '../../core/errors.js';
import type { Actor } from '../../core/rbac/access.js';
import {
  type ConnectionInput,
  connectionOfOrg,
  createConnection,
  deleteConnection,
  listConnections,
  loadConnection,
  rotateSpKey,
  type SsoPermission,
  updateConnection,
} from '../../core/sso/connections.js';
import { addDomain, claimDomains, listDomains, removeDomain, verifyDomain } from '../../core/sso/domains.js';
import { describeConnection, presentDomain } from '../../core/sso/present.js';
import type { SsoConnection } from '../../core/store/repos/sso-connections.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, signedInRoutes } from '../schemas.js';
import {
  ConnectionBody,
  type ConnectionBodyT,
  ConnectionList,
  ConnectionSchema,
  DomainBody,
  DomainParams,
  DomainSchema,
  IdParams,
  ListQuery,
  OrgQuery,
} from './sso-schemas.js';

const actorOf = (request: FastifyRequest): Actor => ({
  id: request.auth!.user.id,
  isAdmin: request.auth!.user.isAdmin,
});

/** The API's body onto core's input (the SDK's `saml_certificate` and API.md's `idp_metadata_url` too). */
function connectionInput(b: ConnectionBodyT): ConnectionInput {
  const certs = b.saml_certificates ?? (b.saml_certificate !== undefined ? [b.saml_certificate] : undefined);
  return {
    name: b.name,
    provider: b.provider,
    enabled: b.enabled,
    metadataUrl: b.saml_metadata_url ?? b.idp_metadata_url,
    metadataXml: b.saml_metadata_xml,
    idpEntityId: b.saml_entity_id,
    idpSsoUrl: b.saml_sso_url,
    idpCertificates: certs,
    idpWantsSignedRequests: b.want_authn_requests_signed,
    attributeMapping: b.attribute_mapping,
    groupRoles: b.group_roles,
    defaultRole: b.default_role,
    jitProvisioning: b.jit_provisioning,
    allowIdpInitiated: b.allow_idp_initiated,
  };
}

/** A configuration id, or an organization id (the SDK's addressing): its newest connection. */
async function resolve(
  deps: Deps,
  actor: Actor,
  id: string,
  permission: SsoPermission,
): Promise<SsoConnection> {
  try {
    return await loadConnection(deps, actor, id, permission);
  } catch (err) {
    if (!isJanuaError(err) || err.code !== 'NOT_FOUND_ERROR') throw err;
    return connectionOfOrg(deps, actor, id, permission).catch((e: unknown) => {
      if (isJanuaError(e) && e.code === 'NOT_FOUND_ERROR') throw err;
      throw e;
    });
  }
}

export async function ssoRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const signedIn = signedInRoutes(app, 'sso');

  r.post(
    '/sso/configurations',
    signedIn(
      'Create an SAML connection for an organization (organization admins, platform admins). `organization_id` in the body or the query; the IdP from saml_metadata_url, saml_metadata_xml, or saml_entity_id + saml_sso_url + saml_certificate',
      {
        body: ConnectionBody,
        querystring: OrgQuery,
        response: { 201: ConnectionSchema, ...errors(401, 403, 404, 409, 422) },
      },
    ),
    async (request, reply) => {
      const orgId = request.body.organization_id ?? request.query.organization_id ?? '';
      const actor = actorOf(request);
      const ctx = requestContext(request);
      const c = await createConnection(deps, actor, orgId, connectionInput(request.body), ctx);
      if (request.body.allowed_domains)
        await claimDomains(deps, actor, c.organizationId, request.body.allowed_domains, ctx);
      reply.status(201);
      return describeConnection(deps, c);
    },
  );

  r.get(
    '/sso/configurations',
    signedIn('List SAML connections (of one organization; platform admins: all)', {
      querystring: ListQuery,
      response: { 200: ConnectionList, ...errors(401, 403, 404, 422) },
    }),
    async (request) => {
      const perPage = request.query.per_page ?? 20;
      const page = request.query.page ?? 1;
      const { items, total } = await listConnections(deps, actorOf(request), {
        organizationId: request.query.organization_id,
        limit: perPage,
        offset: (page - 1) * perPage,
      });
      const out = await Promise.all(items.map((c) => describeConnection(deps, c)));
      return { items: out, data: out, total, page, per_page: perPage };
    },
  );

  r.get(
    '/sso/configurations/:id',
    signedIn('One SAML connection, by its id or by its organization id', {
      params: IdParams,
      response: { 200: ConnectionSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) =>
      describeConnection(deps, await resolve(deps, actorOf(request), request.params.id, 'sso:read')),
  );

  for (const method of ['PATCH', 'PUT'] as const)
    r.route({
      method,
      url: '/sso/configurations/:id',
      ...signedIn(
        method === 'PUT'
          ? 'Update a SAML connection (the SDK spelling of PATCH)'
          : 'Update a SAML connection',
        {
          params: IdParams,
          body: ConnectionBody,
          response: { 200: ConnectionSchema, ...errors(401, 403, 404, 409, 422) },
        },
      ),
      handler: async (request) => {
        const actor = actorOf(request);
        const ctx = requestContext(request);
        const c = await resolve(deps, actor, request.params.id, 'sso:write');
        const updated = await updateConnection(deps, actor, c.id, connectionInput(request.body), ctx);
        if (request.body.allowed_domains)
          await claimDomains(deps, actor, c.organizationId, request.body.allowed_domains, ctx);
        return describeConnection(deps, updated);
      },
    });

  r.delete(
    '/sso/configurations/:id',
    signedIn('Delete a SAML connection (by its id or its organization id)', {
      params: IdParams,
      response: { 204: Type.Null(), ...errors(401, 403, 404, 422) },
    }),
    async (request, reply) => {
      const actor = actorOf(request);
      const c = await resolve(deps, actor, request.params.id, 'sso:write');
      await deleteConnection(deps, actor, c.id, requestContext(request));
      reply.status(204);
      return null;
    },
  );

  r.post(
    '/sso/configurations/:id/rotate-sp-key',
    signedIn(
      'Give the connection a new SP key pair; the previous one still decrypts and stays in the SP metadata until the next rotation',
      { params: IdParams, response: { 200: ConnectionSchema, ...errors(401, 403, 404, 422) } },
    ),
    async (request) => {
      const actor = actorOf(request);
      const c = await resolve(deps, actor, request.params.id, 'sso:write');
      return describeConnection(deps, await rotateSpKey(deps, actor, c.id, requestContext(request)));
    },
  );

  r.get(
    '/sso/domains',
    signedIn('Email domains an organization claims for SSO discovery', {
      querystring: Type.Object({ organization_id: Type.String({ format: 'uuid' }) }),
      response: { 200: Type.Object({ items: Type.Array(DomainSchema) }), ...errors(401, 403, 404, 422) },
    }),
    async (request) => ({
      items: (await listDomains(deps, actorOf(request), request.query.organization_id)).map(presentDomain),
    }),
  );

  r.post(
    '/sso/domains',
    signedIn(
      'Claim an email domain for an organization; publish the DNS TXT record shown, then verify (platform admins may pass verified: true)',
      { body: DomainBody, response: { 201: DomainSchema, ...errors(401, 403, 404, 409, 422) } },
    ),
    async (request, reply) => {
      const b = request.body;
      const d = await addDomain(
        deps,
        actorOf(request),
        b.organization_id,
        b.domain,
        { verified: b.verified },
        requestContext(request),
      );
      reply.status(201);
      return presentDomain(d);
    },
  );

  r.post(
    '/sso/domains/:domain/verify',
    signedIn('Check the DNS TXT record of a claimed domain and mark it verified', {
      params: DomainParams,
      body: Type.Object({ organization_id: Type.String({ format: 'uuid' }) }),
      response: { 200: DomainSchema, ...errors(401, 403, 404, 422) },
    }),
    async (request) =>
      presentDomain(
        await verifyDomain(
          deps,
          actorOf(request),
          request.body.organization_id,
          request.params.domain,
          requestContext(request),
        ),
      ),
  );

  r.delete(
    '/sso/domains/:domain',
    signedIn('Release a claimed domain', {
      params: DomainParams,
      querystring: Type.Object({ organization_id: Type.String({ format: 'uuid' }) }),
      response: { 204: Type.Null(), ...errors(401, 403, 404, 422) },
    }),
    async (request, reply) => {
      await removeDomain(
        deps,
        actorOf(request),
        request.query.organization_id,
        request.params.domain,
        requestContext(request),
      );
      reply.status(204);
      return null;
    },
  );
}
