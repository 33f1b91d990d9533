/** Sign-up, sign-in, refresh, sign-out, me and profile — with the aliases the original SDK calls. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { refresh, register, type SignedIn, signInWithMfa, signOut } from '../../core/auth/service.js';
import type { Deps } from '../../core/deps.js';
import { presentUser } from '../../core/users/model.js';
import { updateProfile } from '../../core/users/service.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, ProfileFields, profilePatch, TokenFields, UserSchema } from '../schemas.js';
import { pragmaNoCache } from '../security-headers.js';
import { SignInResponse, signInBody } from './mfa-schemas.js';

const Name = Type.Union([Type.String({ maxLength: 100 }), Type.Null()]);
const Email = Type.String({ minLength: 3, maxLength: 320 });
/** Long enough for any policy; the 72-byte bcrypt limit is checked with a clear message in core. */
const Password = Type.String({ minLength: 1, maxLength: 1024 });

const SignUpBody = Type.Object({
  email: Email,
  password: Password,
  first_name: Type.Optional(Name),
  last_name: Type.Optional(Name),
  username: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }), Type.Null()]),
  ),
});
const SignInBody = Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), password: Password });
const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) });
const SignOutBody = Type.Union([
  Type.Object({ refresh_token: Type.Optional(Type.String({ maxLength: 512 })) }),
  Type.Null(),
]);
const SignOutQuery = Type.Object({
  all: Type.Optional(Type.Boolean({ description: 'End every session of the user' })),
});
const ProfileBody = Type.Object(ProfileFields, { minProperties: 1 });

/** API.md, "Client compatibility": the tokens flat and nested (`tokens`), beside `user`. */
const SessionResponse = Type.Object({ ...TokenFields, tokens: Type.Object(TokenFields), user: UserSchema });
/** With REQUIRE_EMAIL_VERIFICATION sign-up opens no session: the token fields are then absent. */
const OptionalTokenFields = Object.fromEntries(
  Object.entries(TokenFields).map(([k, v]) => [k, Type.Optional(v)]),
) as { [K in keyof typeof TokenFields]: ReturnType<typeof Type.Optional<(typeof TokenFields)[K]>> };
const SignUpResponse = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  first_name: Type.Union([Type.String(), Type.Null()]),
  last_name: Type.Union([Type.String(), Type.Null()]),
  email_verified: Type.Boolean(),
  message: Type.String(),
  ...OptionalTokenFields,
  tokens: Type.Optional(Type.Object(TokenFields)),
  user: UserSchema,
});

function sessionBody(s: SignedIn) {
  return { ...s.tokens, tokens: s.tokens, user: presentUser(s.user) };
}

/** Registers one handler under the documented path and its SDK alias. */
function both(paths: string[], register: (path: string, alias: boolean) => void): void {
  for (const [i, p] of paths.entries()) register(p, i > 0);
}

export async function authRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['auth'];
  app.addHook('onRequest', pragmaNoCache);

  both(['/signup', '/register'], (url, alias) =>
    r.post(
      url,
      {
        config: { rateLimit: 'credentials' },
        schema: {
          tags,
          summary: 'Create an account and sign in',
          hide: alias,
          body: SignUpBody,
          response: { 201: SignUpResponse, ...errors(400, 409, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const s = await register(
          deps,
          {
            email: b.email,
            password: b.password,
            firstName: b.first_name,
            lastName: b.last_name,
            username: b.username,
          },
          requestContext(request),
        );
        reply.status(201);
        return {
          id: s.user.id,
          email: s.user.email,
          first_name: s.user.firstName,
          last_name: s.user.lastName,
          email_verified: s.user.emailVerified,
          message: deps.config.requireEmailVerification
            ? 'Verification email sent; verify the address to sign in'
            : 'Verification email sent',
          ...(s.tokens ? sessionBody(s as SignedIn) : { user: presentUser(s.user) }),
        };
      },
    ),
  );

  both(['/signin', '/login'], (url, alias) =>
    r.post(
      url,
      {
        config: { rateLimit: 'credentials', maintenance: 'allow' },
        schema: {
          tags,
          summary: 'Sign in with email and password',
          hide: alias,
          body: SignInBody,
          description:
            'A user with two-factor authentication gets an MFA challenge instead of tokens (docs/mfa.md): finish at POST /api/v1/mfa/verify.',
          response: { 200: SignInResponse, ...errors(400, 401, 403, 422, 429, 503) },
        },
      },
      async (request) => signInBody(await signInWithMfa(deps, request.body, requestContext(request))),
    ),
  );

  both(['/token/refresh', '/refresh'], (url, alias) =>
    r.post(
      url,
      {
        config: { rateLimit: 'credentials', maintenance: 'allow' },
        schema: {
          tags,
          summary: 'Exchange a refresh token for a new token pair (the old one is spent)',
          hide: alias,
          body: RefreshBody,
          response: { 200: SessionResponse, ...errors(400, 401, 422, 429) },
        },
      },
      async (request) =>
        sessionBody(await refresh(deps, request.body.refresh_token, requestContext(request))),
    ),
  );

  both(['/signout', '/logout'], (url, alias) =>
    r.post(
      url,
      {
        config: { maintenance: 'allow' },
        preHandler: app.requireAuth,
        schema: {
          tags,
          summary: 'End this session (`?all=true`: every session of the user)',
          hide: alias,
          querystring: SignOutQuery,
          body: Type.Optional(SignOutBody),
          security: [{ bearer: [] }],
          response: {
            200: Type.Object({ message: Type.String(), sessions_revoked: Type.Integer() }),
            ...errors(401, 422),
          },
        },
      },
      async (request) => {
        const auth = request.auth!;
        const { revoked } = await signOut(
          deps,
          { userId: auth.user.id, sessionId: auth.session.id },
          { all: request.query.all ?? false, refreshToken: request.body?.refresh_token },
          requestContext(request),
        );
        return { message: 'Successfully signed out', sessions_revoked: revoked };
      },
    ),
  );

  r.get(
    '/me',
    {
      preHandler: app.requireAuth,
      schema: {
        tags,
        summary: 'The signed-in user',
        security: [{ bearer: [] }],
        response: { 200: UserSchema, ...errors(401) },
      },
    },
    async (request) => presentUser(request.auth!.user),
  );

  r.patch(
    '/profile',
    {
      preHandler: app.requireAuth,
      schema: {
        tags,
        summary: 'Update your own profile',
        security: [{ bearer: [] }],
        body: ProfileBody,
        response: { 200: UserSchema, ...errors(401, 409, 422) },
      },
    },
    async (request) => {
      const user = await updateProfile(
        deps,
        request.auth!.user.id,
        profilePatch(request.body),
        requestContext(request),
      );
      return presentUser(user);
    },
  );
}
