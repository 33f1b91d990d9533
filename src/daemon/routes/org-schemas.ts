/** TypeBox schemas of the organizations, roles and RBAC routes. */
import { Type } from 'typebox';
import { MultilineText } from '../schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Uuid = Type.String({ format: 'uuid' });
const Ts = Type.String({ format: 'date-time' });

export const OrgIdParams = Type.Object({ org_id: Uuid });
export const MemberParams = Type.Object({ org_id: Uuid, user_id: Uuid });
export const InviteParams = Type.Object({ org_id: Uuid, invite_id: Uuid });
export const RoleParams = Type.Object({ id: Uuid });

/** A role name in a request: built-in or custom (existence is checked in core). */
export const RoleName = Type.String({ minLength: 1, maxLength: 50 });
const Slug = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'lower-case letters, digits, single hyphens',
});
const Description = Nullable(MultilineText({ maxLength: 2000 }));

export const OrganizationSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    slug: Type.String(),
    description: Nullable(Type.String()),
    logo_url: Nullable(Type.String()),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    require_mfa: Type.Boolean({ description: 'Members must have a second factor to sign in' }),
    created_by: Nullable(Type.String()),
    created_at: Ts,
    updated_at: Ts,
    role: Nullable(
      Type.String({ description: "The caller's role in the organization (null: platform admin)" }),
    ),
  },
  { $id: 'Organization' },
);

export const CreateOrganizationBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  slug: Slug,
  description: Type.Optional(Description),
  logo_url: Type.Optional(Nullable(Type.String({ maxLength: 2048, format: 'uri' }))),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const UpdateOrganizationBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    slug: Type.Optional(Slug),
    description: Type.Optional(Description),
    logo_url: Type.Optional(Nullable(Type.String({ maxLength: 2048, format: 'uri' }))),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    require_mfa: Type.Optional(Type.Boolean()),
  },
  { minProperties: 1 },
);

export const MemberSchema = Type.Object(
  {
    organization_id: Uuid,
    user_id: Uuid,
    email: Type.String(),
    first_name: Nullable(Type.String()),
    last_name: Nullable(Type.String()),
    name: Nullable(Type.String()),
    display_name: Nullable(Type.String()),
    status: Type.String(),
    role: Type.String(),
    joined_at: Ts,
    invited_by: Nullable(Type.String()),
  },
  { $id: 'OrganizationMember' },
);

export const AddMemberBody = Type.Object({
  user_id: Type.Optional(Uuid),
  email: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
  role: Type.Optional(RoleName),
});

export const RoleBody = Type.Object({ role: RoleName });

export const InvitationSchema = Type.Object(
  {
    id: Uuid,
    organization_id: Uuid,
    email: Type.String(),
    role: Type.String(),
    status: Type.Union([
      Type.Literal('pending'),
      Type.Literal('accepted'),
      Type.Literal('revoked'),
      Type.Literal('expired'),
    ]),
    invited_by: Nullable(Type.String()),
    created_at: Ts,
    expires_at: Ts,
    accepted_at: Nullable(Ts),
    accepted_by: Nullable(Type.String()),
    revoked_at: Nullable(Ts),
  },
  { $id: 'OrganizationInvitation' },
);

export const IssuedInvitationSchema = Type.Object({
  ...InvitationSchema.properties,
  token: Type.String({ description: 'The invitation token, shown only in this response' }),
  message: Type.String(),
});

export const CreateInvitationBody = Type.Object({
  email: Type.String({ minLength: 3, maxLength: 320 }),
  role: Type.Optional(RoleName),
});

export const InvitationListQuery = Type.Object({
  status: Type.Optional(
    Type.Union([
      Type.Literal('pending'),
      Type.Literal('accepted'),
      Type.Literal('revoked'),
      Type.Literal('expired'),
    ]),
  ),
});

export const AcceptBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) });

export const RoleSchema = Type.Object(
  {
    id: Nullable(Uuid),
    organization_id: Nullable(Uuid),
    name: Type.String(),
    description: Nullable(Type.String()),
    permissions: Type.Array(Type.String()),
    built_in: Type.Boolean(),
    created_at: Nullable(Ts),
    updated_at: Nullable(Ts),
  },
  { $id: 'Role' },
);

export const RoleFields = {
  name: Type.String({ minLength: 1, maxLength: 50 }),
  description: Type.Optional(Description),
  permissions: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 }),
};

export const UpdateRoleBody = Type.Object(
  {
    name: Type.Optional(RoleFields.name),
    description: Type.Optional(Description),
    permissions: Type.Optional(RoleFields.permissions),
  },
  { minProperties: 1 },
);

export const Deleted = Type.Object({ message: Type.String(), id: Type.String() });
