/** TypeBox schemas of /api/v1/webhooks (the endpoint object follows the original SDK's; see API.md). */
import { Type } from 'typebox';
import { MAX_EVENTS } from '../../core/webhooks/catalogue.js';
import { MAX_DELIVERIES_PER_PAGE } from '../../core/webhooks/deliveries-query.js';
import { MAX_PER_PAGE } from '../../core/webhooks/endpoints.js';
import { MAX_DESCRIPTION_LENGTH, MAX_HEADERS, MAX_URL_LENGTH } from '../../core/webhooks/targets.js';
import { MultilineText, Nullable } from '../schemas.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const DateTime = Type.String({ format: 'date-time' });

const DeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('retrying'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);

export const IdParams = Type.Object({ id: Uuid });
export const DeliveryParams = Type.Object({ delivery_id: Uuid });

const Url = Type.String({
  minLength: 1,
  maxLength: MAX_URL_LENGTH,
  description:
    'Absolute http(s) URL without credentials. Loopback, private, link-local and metadata addresses are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS=true',
});
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: MAX_EVENTS,
  description:
    'Event types (GET /api/v1/webhooks/events), `prefix.*` patterns (`user.*`) or `*`; the original SDK names (`user.signed_in`, …) are accepted and stored as ours',
});
const Description = Nullable(MultilineText({ maxLength: MAX_DESCRIPTION_LENGTH }));
const Headers = Nullable(
  Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 1000 }), {
    maxProperties: MAX_HEADERS,
    description:
      'Extra request headers sent with every delivery (not hop-by-hop, Host, Content-Length/Type or webhook-*/x-webhook-*)',
  }),
);

export const CreateBody = Type.Object({
  url: Url,
  events: Events,
  description: Type.Optional(Description),
  headers: Type.Optional(Headers),
  organization_id: Type.Optional(
    Nullable(
      Type.String({ format: 'uuid', description: 'Owning organization; absent: a platform endpoint' }),
    ),
  ),
});

export const UpdateBody = Type.Object({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  description: Type.Optional(Description),
  headers: Type.Optional(Headers),
  is_active: Type.Optional(
    Type.Boolean({
      description: 'false disables (reason `manual`); true enables and clears the failure record',
    }),
  ),
});

export const EndpointSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  secret: Type.String({
    description: 'The signing secret (whsec_…) in the create and rotate answers only; elsewhere a mask',
  }),
  events: Type.Array(Type.String()),
  is_active: Type.Boolean(),
  description: Nullable(Type.String()),
  headers: Type.Record(Type.String(), Type.String()),
  organization_id: Nullable(Type.String({ format: 'uuid' })),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  disabled_reason: Nullable(Type.String({ description: '`manual`, or `failing` when auto-disabled' })),
  disabled_at: Nullable(DateTime),
  failing_since: Nullable(DateTime),
  previous_secret_expires_at: Nullable(
    Type.String({ format: 'date-time', description: 'Until when the rotated-out secret still signs' }),
  ),
  created_at: DateTime,
  updated_at: DateTime,
});

export const ListQuery = Type.Object({
  organization_id: Type.Optional(
    Type.Union([Type.String({ format: 'uuid' }), Type.Literal('platform')], {
      description: "An organization's endpoints, or `platform` for the platform's (platform admins)",
    }),
  ),
  is_active: Type.Optional(Type.Boolean({ description: 'Only active (true) or disabled (false) endpoints' })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PER_PAGE, default: 50 })),
});

export const ListSchema = Type.Object({
  endpoints: Type.Array(EndpointSchema),
  total: Type.Integer(),
  page: Type.Integer(),
  per_page: Type.Integer(),
});

export const TestSchema = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  delivery_id: Type.String({ format: 'uuid' }),
  event_id: Type.String({ format: 'uuid' }),
});

export const DeletedSchema = Type.Object({ message: Type.String(), id: Type.String({ format: 'uuid' }) });

export const CatalogueSchema = Type.Object({
  events: Type.Array(Type.Object({ type: Type.String(), description: Type.String() })),
});

const DeliveryFields = {
  id: Type.String({ format: 'uuid' }),
  endpoint_id: Type.String({ format: 'uuid' }),
  webhook_id: Type.String({ format: 'uuid', description: 'The same as endpoint_id (the SDK’s name)' }),
  event_id: Type.String({
    format: 'uuid',
    description: 'The same on every attempt and replay: dedupe on it',
  }),
  event_type: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  response_status: Nullable(Type.Integer()),
  latency_ms: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  next_attempt_at: Nullable(DateTime),
  created_at: DateTime,
  delivered_at: Nullable(DateTime),
  replay_of: Nullable(Type.String({ format: 'uuid' })),
};
export const DeliverySchema = Type.Object(DeliveryFields);
export const DeliveryFullSchema = Type.Object({
  ...DeliveryFields,
  body: Type.String({ description: 'The exact JSON body sent' }),
  response_body: Nullable(Type.String({ description: 'The start of the last answer' })),
});

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(DeliveryStatus),
  event_type: Type.Optional(Type.String({ maxLength: 100 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_DELIVERIES_PER_PAGE })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_DELIVERIES_PER_PAGE })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
});

export const StatsQuery = Type.Object({
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'Only the last N days' })),
});

export const StatsSchema = Type.Object({
  webhook_id: Type.String({ format: 'uuid' }),
  period_days: Nullable(Type.Integer()),
  total: Type.Integer(),
  pending: Type.Integer(),
  retrying: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  success_rate: Nullable(Type.Number({ description: 'succeeded / (succeeded + failed)' })),
  mean_latency_ms: Nullable(Type.Number()),
  last_delivery_at: Nullable(DateTime),
  total_deliveries: Type.Integer({ description: 'The original SDK’s name for total' }),
  successful: Type.Integer({ description: 'The original SDK’s name for succeeded' }),
  average_delivery_time: Nullable(
    Type.Number({ description: 'The original SDK’s name for mean_latency_ms' }),
  ),
});

export const VerifyBody = Type.Object({
  payload: MultilineText({ maxLength: 1_000_000, description: 'The raw request body received' }),
  signature: Type.String({
    minLength: 1,
    maxLength: 4096,
    description: 'X-Webhook-Signature (hex), or webhook-signature (`v1,…`) with message_id and timestamp',
  }),
  secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  webhook_id: Type.Optional(
    Type.String({ format: 'uuid', description: 'An endpoint you manage, instead of secret' }),
  ),
  message_id: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'The webhook-id header' }),
  ),
  timestamp: Type.Optional(
    Type.Union([Type.String({ pattern: '^[0-9]{1,12}$' }), Type.Integer({ minimum: 0 })], {
      description: 'The webhook-timestamp header',
    }),
  ),
});

export const VerifySchema = Type.Object({
  valid: Type.Boolean(),
  scheme: Type.Union([Type.Literal('standard'), Type.Literal('original')]),
});
