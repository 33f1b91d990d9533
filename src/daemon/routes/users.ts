/**
 * User administration under /api/v1/users. Platform admins may do everything; a signed-in user may read,
 * edit and deactivate their own account and manage their own sessions. Ids in paths must be UUIDs: a
 * malformed id is answered 422 VALIDATION_ERROR, an unknown one 404 NOT_FOUND_ERROR.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../core/deps.js';
import {
  adminCreateUser,
  deleteUser,
  getUser,
  listUserSessions,
  listUsers,
  lockUser,
  MAX_LOCK_MINUTES,
  MAX_PER_PAGE,
  presentSession,
  presentUserPage,
  reactivateUser,
  revokeUserSession,
  revokeUserSessions,
  suspendUser,
  USER_SORTS,
  USER_STATUSES,
  unlockUser,
  updateUser,
} from '../../core/users/admin.js';
import { presentUser } from '../../core/users/model.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, MessageSchema, Nullable, ProfileFields, profilePatch, UserSchema } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const UserParams = Type.Object({ user_id: Uuid });
const SessionParams = Type.Object({ user_id: Uuid, session_id: Uuid });
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const ListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PER_PAGE, default: 20 })),
  search: Type.Optional(
    Type.String({ maxLength: 100, description: 'Prefix of email, first or last name; case-insensitive' }),
  ),
  status: Type.Optional(literals(USER_STATUSES)),
  email_verified: Type.Optional(Type.Boolean()),
  organization_id: Type.Optional(Uuid),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
  sort: Type.Optional(literals(USER_SORTS)),
});
const UserList = Type.Object({
  users: Type.Array(UserSchema),
  total: Type.Integer(),
  page: Type.Integer(),
  per_page: Type.Integer(),
  pages: Type.Integer(),
});

const PatchBody = Type.Object(
  {
    ...ProfileFields,
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 320, description: 'Admins only' })),
    is_admin: Type.Optional(Type.Boolean({ description: 'Admins only' })),
    email_verified: Type.Optional(Type.Boolean({ description: 'Admins only' })),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('suspended')], {
        description: 'Admins only; `deleted` is DELETE',
      }),
    ),
  },
  { minProperties: 1 },
);

const CreateBody = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 320 }),
  password: Type.Optional(
    Type.String({ minLength: 1, maxLength: 1024, description: 'Without one, the user cannot sign in yet' }),
  ),
  first_name: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
  last_name: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
  is_admin: Type.Optional(Type.Boolean({ default: false })),
  email_verified: Type.Optional(Type.Boolean({ default: false })),
});
const ByEmailQuery = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 320, pattern: '@', description: 'Exact email address' }),
});

const DeleteQuery = Type.Object({
  hard: Type.Optional(
    Type.Boolean({ default: false, description: 'Remove the user for good (admins only)' }),
  ),
});
const DeleteResponse = Type.Object({
  message: Type.String(),
  id: Type.String({ format: 'uuid' }),
  hard: Type.Boolean(),
  sessions_revoked: Type.Integer(),
});
const LockBody = Type.Union([
  Type.Object({ minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LOCK_MINUTES })) }),
  Type.Null(),
]);
const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  expires_at: Type.String({ format: 'date-time' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'The session of the token making this request' }),
});

const secured = { security: [{ bearer: [] }] };
const tags = ['users'];
const date = (s: string | undefined) => (s === undefined ? undefined : new Date(s));

export async function userRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  app.addHook('preHandler', app.requireAuth);
  const ctx = requestContext;
  /** The `user_id` of the path, or the caller for the `/me` spellings. */
  const target = (request: FastifyRequest) =>
    (request.params as { user_id?: string }).user_id ?? request.auth!.user.id;

  r.get(
    '/',
    {
      schema: {
        tags,
        summary: 'List users (platform admins): paging, prefix search, filters, sort',
        ...secured,
        querystring: ListQuery,
        response: { 200: UserList, ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await listUsers(
        deps,
        {
          page: q.page,
          perPage: q.per_page,
          search: q.search,
          status: q.status,
          emailVerified: q.email_verified,
          organization: q.organization_id,
          createdAfter: date(q.created_after),
          createdBefore: date(q.created_before),
          sort: q.sort,
        },
        ctx(request),
      );
      return presentUserPage(page);
    },
  );

  r.post(
    '/',
    {
      schema: {
        tags,
        summary: 'Create a user (platform admins), as `janua users create` does; no session is opened',
        ...secured,
        body: CreateBody,
        response: { 201: UserSchema, ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const user = await adminCreateUser(
        deps,
        {
          email: b.email,
          password: b.password,
          firstName: b.first_name,
          lastName: b.last_name,
          isAdmin: b.is_admin,
          emailVerified: b.email_verified,
        },
        ctx(request),
      );
      reply.status(201);
      return presentUser(user);
    },
  );

  // Admins only: a user asking for their own email is still refused (getUser checks before the lookup).
  r.get(
    '/by-email',
    {
      schema: {
        tags,
        summary: 'Find a user by email (platform admins)',
        ...secured,
        querystring: ByEmailQuery,
        response: { 200: UserSchema, ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => presentUser(await getUser(deps, request.query.email, ctx(request))),
  );

  // `/me` first in the source for the reader; find-my-way prefers static segments over `:user_id` anyway.
  for (const [path, who] of [
    ['/me', 'yourself'],
    ['/:user_id', 'a user (yourself, or anyone as an admin)'],
  ] as const) {
    const params = path === '/me' ? {} : { params: UserParams };
    r.get(
      path,
      {
        schema: {
          tags,
          summary: `Get ${who}`,
          ...secured,
          ...params,
          response: { 200: UserSchema, ...errors(401, 403, 404, 422) },
        },
      },
      async (request) => presentUser(await getUser(deps, target(request), ctx(request))),
    );
    r.patch(
      path,
      {
        schema: {
          tags,
          summary: `Update ${who}; email, is_admin, email_verified and status are for admins`,
          ...secured,
          ...params,
          body: PatchBody,
          response: { 200: UserSchema, ...errors(401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const b = request.body;
        const user = await updateUser(
          deps,
          target(request),
          {
            ...profilePatch(b),
            email: b.email,
            isAdmin: b.is_admin,
            emailVerified: b.email_verified,
            status: b.status,
          },
          ctx(request),
        );
        return presentUser(user);
      },
    );
    r.delete(
      path,
      {
        schema: {
          tags,
          summary: `Deactivate ${who} (status deleted, every session revoked); ?hard=true deletes for good (admins; 409 while the only owner of an organization)`,
          ...secured,
          ...params,
          querystring: DeleteQuery,
          response: { 200: DeleteResponse, ...errors(401, 403, 404, 409, 422) },
        },
      },
      async (request) => {
        const d = await deleteUser(deps, target(request), { hard: request.query.hard }, ctx(request));
        return {
          message: d.hard ? 'User deleted' : 'User deactivated',
          id: d.user.id,
          hard: d.hard,
          sessions_revoked: d.sessionsRevoked,
        };
      },
    );
  }

  for (const [action, fn, summary] of [
    ['suspend', suspendUser, 'Suspend (admins): sign-in refused, every session revoked at once'],
    ['reactivate', reactivateUser, 'Reactivate a suspended or deactivated user (admins)'],
    ['unsuspend', reactivateUser, "Reactivate (admins): the original SDK's spelling of /reactivate"],
  ] as const) {
    r.post(
      `/:user_id/${action}`,
      {
        schema: {
          tags,
          summary,
          ...secured,
          params: UserParams,
          response: { 200: UserSchema, ...errors(401, 403, 404, 409, 422) },
        },
      },
      async (request) => presentUser((await fn(deps, request.params.user_id, ctx(request))).user),
    );
  }

  r.post(
    '/:user_id/lock',
    {
      schema: {
        tags,
        summary: 'Lock sign-in (admins) for `minutes` (default: the lockout duration)',
        ...secured,
        params: UserParams,
        body: Type.Optional(LockBody),
        response: {
          200: Type.Object({ user: UserSchema, locked_until: Type.String({ format: 'date-time' }) }),
          ...errors(401, 403, 404, 422),
        },
      },
    },
    async (request) => {
      const l = await lockUser(
        deps,
        request.params.user_id,
        { minutes: request.body?.minutes },
        ctx(request),
      );
      return { user: presentUser(l.user), locked_until: l.lockedUntil.toISOString() };
    },
  );

  r.post(
    '/:user_id/unlock',
    {
      schema: {
        tags,
        summary: 'Lift a sign-in lockout (admins)',
        ...secured,
        params: UserParams,
        response: {
          200: Type.Object({ user: UserSchema, was_locked: Type.Boolean() }),
          ...errors(401, 403, 404, 422),
        },
      },
    },
    async (request) => {
      const u = await unlockUser(deps, request.params.user_id, ctx(request));
      return { user: presentUser(u.user), was_locked: u.wasLocked };
    },
  );

  r.get(
    '/:user_id/sessions',
    {
      schema: {
        tags,
        summary: 'Live sessions of a user (yourself, or anyone as an admin), newest first',
        ...secured,
        params: UserParams,
        response: { 200: Type.Array(SessionSchema), ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const s = await listUserSessions(deps, request.params.user_id, ctx(request));
      return s.sessions.map((x) => presentSession(x, request.auth!.session.id));
    },
  );

  r.delete(
    '/:user_id/sessions/:session_id',
    {
      schema: {
        tags,
        summary: 'End one live session (yourself, or anyone as an admin)',
        ...secured,
        params: SessionParams,
        response: { 200: MessageSchema, ...errors(401, 403, 404, 422) },
      },
    },
    async (request) => {
      await revokeUserSession(deps, request.params.user_id, request.params.session_id, ctx(request));
      return { message: 'Session revoked' };
    },
  );

  r.post(
    '/:user_id/sessions/revoke-all',
    {
      schema: {
        tags,
        summary:
          'End every session of a user (yourself, or anyone as an admin); their access tokens stop working at once',
        ...secured,
        params: UserParams,
        response: {
          200: Type.Object({ message: Type.String(), sessions_revoked: Type.Integer() }),
          ...errors(401, 403, 404, 422),
        },
      },
    },
    async (request) => {
      const r2 = await revokeUserSessions(deps, request.params.user_id, ctx(request));
      return { message: 'Sessions revoked', sessions_revoked: r2.revoked };
    },
  );
}
