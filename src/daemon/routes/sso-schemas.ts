/** TypeBox schemas of /api/v1/sso (the configuration object follows the original SDK's; see API.md). */
import { type Static, Type } from 'typebox';
import { PROVIDERS } from '../../core/sso/connections.js';
import { MultilineText, Nullable } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const DateTime = Type.String({ format: 'date-time' });
const Role = Type.String({ minLength: 1, maxLength: 100 });

export const IdParams = Type.Object({ id: Uuid });
export const OrgQuery = Type.Object({ organization_id: Type.Optional(Uuid) });

const Mapping = Type.Object(
  {
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    first_name: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    last_name: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    groups: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  {
    additionalProperties: false,
    description: 'SAML attribute names per profile field; without `email` the NameID must be the address',
  },
);

const Certificate = MultilineText({ minLength: 1, maxLength: 16384, description: 'PEM or base64 DER' });

/** Create and update share the fields; create needs an IdP source (metadata URL, metadata XML, or fields). */
const ConnectionFields = {
  organization_id: Type.Optional(Uuid),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  provider: Type.Optional(
    Type.Union(
      PROVIDERS.map((p) => Type.Literal(p)),
      { description: 'Which IdP product (informational)' },
    ),
  ),
  enabled: Type.Optional(Type.Boolean()),
  saml_metadata_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  idp_metadata_url: Type.Optional(
    Type.String({ minLength: 1, maxLength: 2048, description: 'API.md spelling of saml_metadata_url' }),
  ),
  saml_metadata_xml: Type.Optional(MultilineText({ minLength: 1, maxLength: 4 * 1024 * 1024 })),
  saml_entity_id: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  saml_sso_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  saml_certificate: Type.Optional(Certificate),
  saml_certificates: Type.Optional(Type.Array(Certificate, { minItems: 1, maxItems: 5 })),
  want_authn_requests_signed: Type.Optional(Type.Boolean()),
  attribute_mapping: Type.Optional(Mapping),
  group_roles: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Role, { maxProperties: 200 }),
  ),
  default_role: Type.Optional(Role),
  jit_provisioning: Type.Optional(Type.Boolean()),
  allow_idp_initiated: Type.Optional(Type.Boolean()),
  allowed_domains: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 253 }), { maxItems: 50 })),
};
export const ConnectionBody = Type.Object(ConnectionFields, { additionalProperties: false });
export type ConnectionBodyT = Static<typeof ConnectionBody>;

const CertInfo = Type.Object({
  subject: Nullable(Type.String()),
  not_after: Nullable(Type.String()),
  expired: Type.Boolean(),
  sha256_fingerprint: Type.String(),
});

export const ConnectionSchema = Type.Object({
  id: Uuid,
  organization_id: Uuid,
  name: Type.String(),
  provider: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('inactive'), Type.Literal('error')]),
  enabled: Type.Boolean(),
  saml_entity_id: Type.String({ description: "The IdP's entity id" }),
  saml_sso_url: Type.String(),
  saml_acs_url: Type.String({ description: 'Our ACS URL for this connection (give it to the IdP)' }),
  saml_shared_acs_url: Type.String(),
  sp_entity_id: Type.String({ description: 'Our entity id (also the URL of our SP metadata)' }),
  sp_metadata_url: Type.String(),
  sp_certificate: Type.String(),
  sp_certificate_info: CertInfo,
  sp_key_rotated_at: Nullable(DateTime),
  saml_certificates: Type.Array(CertInfo),
  want_authn_requests_signed: Type.Boolean(),
  saml_metadata_url: Nullable(Type.String()),
  metadata_refreshed_at: Nullable(DateTime),
  metadata_error: Nullable(Type.String()),
  attribute_mapping: Type.Record(Type.String(), Type.String()),
  group_roles: Type.Record(Type.String(), Type.String()),
  default_role: Type.String(),
  jit_provisioning: Type.Boolean(),
  allow_idp_initiated: Type.Boolean(),
  allowed_domains: Type.Array(Type.String()),
  domains: Type.Array(Type.Object({ domain: Type.String(), verified: Type.Boolean() })),
  created_at: DateTime,
  updated_at: DateTime,
});

export const ConnectionList = Type.Object({
  items: Type.Array(ConnectionSchema),
  data: Type.Array(ConnectionSchema),
  total: Type.Integer(),
  page: Type.Integer(),
  per_page: Type.Integer(),
});

export const ListQuery = Type.Object({
  organization_id: Type.Optional(Uuid),
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});

export const DomainSchema = Type.Object({
  domain: Type.String(),
  organization_id: Uuid,
  verified: Type.Boolean(),
  verified_at: Nullable(DateTime),
  dns_record: Type.Object({ type: Type.String(), name: Type.String(), value: Type.String() }),
  created_at: DateTime,
});
export const DomainBody = Type.Object(
  {
    organization_id: Uuid,
    domain: Type.String({ minLength: 3, maxLength: 253 }),
    verified: Type.Optional(Type.Boolean({ description: 'Platform admins only: mark verified without DNS' })),
  },
  { additionalProperties: false },
);
export const DomainParams = Type.Object({ domain: Type.String({ minLength: 3, maxLength: 253 }) });

export const InitiateQuery = Type.Object({
  org: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Organization slug or id' })),
  organization_slug: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  email: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
  connection_id: Type.Optional(Uuid),
  redirect_uri: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  return_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  state: Type.Optional(Type.String({ maxLength: 512 })),
});
export const InitiateBody = InitiateQuery;
export const InitiateResponse = Type.Object({
  redirect_url: Type.String(),
  state: Type.Optional(Type.String()),
  request_id: Type.String(),
});

export const TestBody = Type.Object(
  {
    configuration_id: Uuid,
    saml_response: Type.Optional(MultilineText({ minLength: 1, maxLength: 8 * 1024 * 1024 })),
  },
  { additionalProperties: false },
);
export const TestResponse = Type.Object({
  success: Type.Boolean(),
  provider: Type.String(),
  metadata_valid: Nullable(Type.Boolean()),
  connection_status: Type.String(),
  error_message: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()),
});

export const ExchangeBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 256 }),
    redirect_uri: Type.String({ minLength: 1, maxLength: 2048 }),
  },
  { additionalProperties: false },
);
