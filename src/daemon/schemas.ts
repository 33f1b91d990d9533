/** TypeBox schemas shared by several route areas. Response schemas list what may leave; the rest is dropped. */
import type { FastifyInstance, FastifySchema } from 'fastify';
import { type Static, type TStringOptions, Type } from 'typebox';
import { TEXT_PATTERNS } from '../core/text.js';
import type { ProfilePatch } from '../core/users/service.js';

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

/**
 * Free text that may span lines (a description, a message): TAB, LF and CR are allowed, NUL and the other
 * control characters are not. Every other string of a request is single-line (plugins/text-rules.ts).
 */
export const MultilineText = (options: Omit<TStringOptions, 'pattern'> = {}) =>
  Type.String({ ...options, pattern: TEXT_PATTERNS['multi-line'] });

export const ErrorBody = Type.Object(
  {
    detail: Type.String(),
    error_code: Type.String(),
    status_code: Type.Integer(),
  },
  { $id: 'ErrorBody', description: 'The one error format of the management API' },
);

export const UserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    email_verified: Type.Boolean(),
    username: Nullable(Type.String()),
    first_name: Nullable(Type.String()),
    last_name: Nullable(Type.String()),
    name: Nullable(Type.String()),
    display_name: Nullable(Type.String()),
    profile_image_url: Nullable(Type.String()),
    phone_number: Nullable(Type.String()),
    phone_verified: Type.Boolean(),
    timezone: Nullable(Type.String()),
    locale: Nullable(Type.String()),
    status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('deleted')]),
    mfa_enabled: Type.Boolean(),
    is_admin: Type.Boolean(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    last_sign_in_at: Nullable(Type.String({ format: 'date-time' })),
    user_metadata: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'User' },
);

export const TokenFields = {
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Access-token lifetime in seconds' }),
};

/** Error responses a route may give, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
}

export const MessageSchema = Type.Object({ message: Type.String() });

const Name = Nullable(Type.String({ maxLength: 100 }));

/** The profile fields a user may edit about themself (`PATCH /auth/profile`, `PATCH /users/{id}`). */
export const ProfileFields = {
  first_name: Type.Optional(Name),
  last_name: Type.Optional(Name),
  username: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })),
  ),
  display_name: Type.Optional(Name),
  profile_image_url: Type.Optional(Nullable(Type.String({ maxLength: 2048, format: 'uri' }))),
  phone_number: Type.Optional(Nullable(Type.String({ maxLength: 32, pattern: '^\\+?[0-9 ()-]{3,32}$' }))),
  timezone: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  locale: Type.Optional(Nullable(Type.String({ maxLength: 35 }))),
  user_metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
};
const ProfileObject = Type.Object(ProfileFields);

/** The API's profile fields onto core's ProfilePatch. */
export function profilePatch(b: Static<typeof ProfileObject>): ProfilePatch {
  return {
    firstName: b.first_name,
    lastName: b.last_name,
    username: b.username,
    displayName: b.display_name,
    profileImageUrl: b.profile_image_url,
    phoneNumber: b.phone_number,
    timezone: b.timezone,
    locale: b.locale,
    userMetadata: b.user_metadata,
  };
}

/**
 * The options of a signed-in route of one area: bearer authentication first (onRequest, so an anonymous caller
 * gets 401 whatever the body), the area's OpenAPI tag and bearer security, then the route's summary and schema.
 */
export function signedInRoutes(app: FastifyInstance, tag: string) {
  const tags = [tag];
  const security = [{ bearer: [] }];
  return <S extends Omit<FastifySchema, 'tags' | 'security' | 'summary'>>(summary: string, schema: S) => ({
    onRequest: app.requireAuth,
    schema: { tags, security, summary, ...schema },
  });
}
