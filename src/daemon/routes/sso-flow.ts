/**
 * The browser side of SAML SSO (issue 16) and the code exchange every browser sign-in ends with:
 * - `GET /api/v1/sso/initiate` (302 to the IdP) and `POST /api/v1/sso/initiate` (JSON `{redirect_url}` for
 *   apps that redirect themselves, API.md "Client compatibility"); both set the browser-binding cookie;
 * - `POST /api/v1/sso/acs` and `/sso/acs/{connection_id}`: the HTTP-POST binding (SAML bindings §3.5), form
 *   encoded, capped before parsing; 302 to the app with `?code=…&state=…`;
 * - `GET /api/v1/sso/metadata/{id}`: our SP metadata (by connection id, or the SDK's organization id);
 * - `POST /api/v1/sso/test`; `POST /api/v1/auth/exchange`.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { exchangeCode } from '../../core/auth/codes.js';
import type { Deps } from '../../core/deps.js';
import { badRequest } from '../../core/errors.js';
import { consumeAssertion } from '../../core/sso/acs.js';
import { connectionForMetadata, spMetadataOf } from '../../core/sso/connections.js';
import { initiateSso, SSO_COOKIE } from '../../core/sso/initiate.js';
import { connectionAcsUrl, sharedAcsUrl } from '../../core/sso/sp.js';
import { testConnection } from '../../core/sso/test-connection.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, signedInRoutes } from '../schemas.js';
import { SignInResponse, signInBody } from './mfa-schemas.js';
import {
  ExchangeBody,
  IdParams,
  InitiateBody,
  InitiateQuery,
  InitiateResponse,
  TestBody,
  TestResponse,
} from './sso-schemas.js';

const tags = ['sso'];

/** The browser-binding cookie from the Cookie header (no cookie plugin for one value). */
function browserToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SSO_COOKIE) return v.join('=');
  }
  return undefined;
}

/**
 * Sets the binding cookie. The IdP posts back cross-site, so on https it is `SameSite=None; Secure` (a Lax
 * cookie is not sent on a cross-site POST); on plain http (local development) browsers refuse None without
 * Secure, so Lax. HttpOnly; scoped to the SSO paths; lives as long as a request may be answered.
 */
function setBrowserCookie(deps: Deps, reply: FastifyReply, token: string): void {
  const https = deps.config.baseUrl.startsWith('https:');
  const attrs = [
    `${SSO_COOKIE}=${token}`,
    'Path=/api/v1/sso',
    'HttpOnly',
    `Max-Age=${deps.config.ssoRequestMinutes * 60}`,
    https ? 'SameSite=None; Secure' : 'SameSite=Lax',
  ];
  reply.header('set-cookie', attrs.join('; '));
}

export async function ssoFlowRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const signedIn = signedInRoutes(app, 'sso');
  // The ACS form: a SAMLResponse is base64 (4/3 of SAML_MAX_RESPONSE_KB) plus RelayState; anything larger is
  // refused by Fastify (413) before it is parsed.
  const formLimit = Math.ceil((deps.config.samlMaxResponseKb * 1024 * 4) / 3) + 8192;
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: formLimit },
    (_request, body, done) => {
      const params = new URLSearchParams(body as string);
      const out: Record<string, string> = {};
      for (const [k, v] of params) if (!(k in out)) out[k] = v;
      done(null, out);
    },
  );

  const initiate = async (
    request: FastifyRequest,
    reply: FastifyReply,
    q: {
      org?: string;
      organization_slug?: string;
      email?: string;
      connection_id?: string;
      redirect_uri?: string;
      return_url?: string;
      state?: string;
    },
  ) => {
    const started = await initiateSso(deps, {
      org: q.org ?? q.organization_slug,
      email: q.email,
      connectionId: q.connection_id,
      redirectUri: q.redirect_uri ?? q.return_url,
      state: q.state,
      browserToken: browserToken(request),
    });
    setBrowserCookie(deps, reply, started.browserToken);
    return started;
  };

  r.get(
    '/sso/initiate',
    {
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary:
          'Start SSO: 302 to the IdP (org=SLUG, email= for discovery by verified domain, or connection_id)',
        querystring: InitiateQuery,
        response: { 302: Type.Null(), ...errors(400, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      const started = await initiate(request, reply, request.query);
      return reply.redirect(started.url, 302);
    },
  );

  r.post(
    '/sso/initiate',
    {
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary: 'Start SSO and answer the IdP URL as JSON (for apps that redirect themselves)',
        body: InitiateBody,
        response: { 200: InitiateResponse, ...errors(400, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      const started = await initiate(request, reply, request.body ?? {});
      return {
        redirect_url: started.url,
        request_id: started.requestId,
        ...(request.body?.state !== undefined ? { state: request.body.state } : {}),
      };
    },
  );

  const acs = async (request: FastifyRequest, reply: FastifyReply, connectionId: string | undefined) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof request.body !== 'object' || request.body === null)
      throw badRequest(
        'The ACS takes an HTML form post (application/x-www-form-urlencoded) with SAMLResponse',
      );
    const out = await consumeAssertion(
      deps,
      {
        connectionId,
        samlResponse: body.SAMLResponse,
        relayState: body.RelayState,
        browserToken: browserToken(request),
        acsUrl: connectionId ? connectionAcsUrl(deps.config, connectionId) : sharedAcsUrl(deps.config),
      },
      requestContext(request),
    );
    return reply.redirect(out.redirect, 302);
  };
  const acsSchema = (summary: string, params?: typeof IdParams) => ({
    config: { rateLimit: 'credentials' as const },
    schema: {
      tags,
      summary,
      ...(params ? { params } : {}),
      consumes: ['application/x-www-form-urlencoded'],
      response: { 302: Type.Null(), ...errors(400, 401, 413, 415, 429) },
    },
  });
  r.post(
    '/sso/acs',
    acsSchema('Assertion Consumer Service (HTTP-POST binding); the connection comes from RelayState'),
    async (request, reply) => acs(request, reply, undefined),
  );
  r.post(
    '/sso/acs/:id',
    acsSchema('Assertion Consumer Service of one connection (the URL in its SP metadata)', IdParams),
    async (request, reply) => acs(request, reply, (request.params as { id: string }).id),
  );

  r.get(
    '/sso/metadata/:id',
    {
      schema: {
        tags,
        summary:
          'Our SP metadata for a connection (by connection id, or by organization id: its newest connection)',
        params: IdParams,
        produces: ['application/samlmetadata+xml'],
        response: { 200: Type.String(), ...errors(404, 422) },
      },
    },
    async (request, reply) => {
      const c = await connectionForMetadata(deps, request.params.id);
      reply.header('content-type', 'application/samlmetadata+xml; charset=utf-8');
      reply.header('cache-control', 'public, max-age=300');
      return spMetadataOf(deps, c);
    },
  );

  r.post(
    '/sso/test',
    signedIn('Check a connection (metadata reachable, certificates) and optionally a captured SAMLResponse', {
      body: TestBody,
      response: { 200: TestResponse, ...errors(401, 403, 404, 422) },
    }),
    async (request) =>
      testConnection(
        deps,
        { id: request.auth!.user.id, isAdmin: request.auth!.user.isAdmin },
        request.body.configuration_id,
        { samlResponse: request.body.saml_response },
      ),
  );

  r.post(
    '/auth/exchange',
    {
      config: { rateLimit: 'credentials', maintenance: 'allow' },
      schema: {
        tags: ['auth'],
        summary:
          'Exchange the one-time code of a browser sign-in (SSO) for the token response: single use, 60 s, bound to the redirect_uri it was sent to',
        body: ExchangeBody,
        response: { 200: SignInResponse, ...errors(400, 401, 403, 422, 429) },
      },
    },
    async (request) =>
      signInBody(
        await exchangeCode(
          deps,
          { code: request.body.code, redirectUri: request.body.redirect_uri },
          requestContext(request),
        ),
      ),
  );
}
