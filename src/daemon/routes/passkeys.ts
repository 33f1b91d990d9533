/**
 * Passkeys under /api/v1/passkeys (core/passkeys/*): the documented `register|authenticate/begin|complete`
 * and the original SDK's `register|authenticate/options|verify` (API.md, "Contract notes" and "Client
 * compatibility"), one handler each; list, availability, rename and delete. Options are the WebAuthn JSON
 * (`PublicKeyCredentialCreationOptionsJSON` / `…RequestOptionsJSON`) the browser's `PublicKeyCredential.parse…`
 * helpers and @simplewebauthn/browser take as they are.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { SignedIn } from '../../core/auth/service.js';
import type { Deps } from '../../core/deps.js';
import { beginAuthentication, completeAuthentication } from '../../core/passkeys/authenticate.js';
import { listPasskeys, presentPasskey, removePasskey, renamePasskey } from '../../core/passkeys/manage.js';
import { beginRegistration, completeRegistration } from '../../core/passkeys/register.js';
import { presentUser } from '../../core/users/model.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors, MessageSchema, Nullable, signedInRoutes, TokenFields, UserSchema } from '../schemas.js';
import { pragmaNoCache } from '../security-headers.js';

const B64 = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[A-Za-z0-9_-]+={0,2}$' });
const Uuid = Type.String({ format: 'uuid', description: 'A UUID; anything else is answered 422' });
const DateTime = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 100 });

/** A PublicKeyCredential as JSON (`credential.toJSON()`), registration or assertion. */
const CredentialSchema = Type.Object({
  id: B64(1024),
  rawId: B64(1024),
  type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: B64(16_384),
    attestationObject: Type.Optional(B64(65_536)),
    authenticatorData: Type.Optional(B64(16_384)),
    signature: Type.Optional(B64(4096)),
    userHandle: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
    transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 16 })),
    publicKey: Type.Optional(B64(16_384)),
    publicKeyAlgorithm: Type.Optional(Type.Integer()),
  }),
  clientExtensionResults: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  authenticatorAttachment: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
});

const RegisterBeginBody = Type.Union([
  Type.Object({
    name: Type.Optional(Name),
    authenticator_attachment: Type.Optional(
      Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]),
    ),
  }),
  Type.Null(),
]);
const RegisterCompleteBody = Type.Object({
  credential: CredentialSchema,
  name: Type.Optional(Nullable(Name)),
});
const AuthBeginBody = Type.Union([
  Type.Object({ email: Type.Optional(Nullable(Type.String({ maxLength: 320 }))) }),
  Type.Null(),
]);
const AuthCompleteBody = Type.Object({
  credential: CredentialSchema,
  // The original SDK sends these too. They are ignored: the challenge is the one the authenticator signed,
  // looked up server-side; the account is the one the credential belongs to.
  challenge: Type.Optional(Type.String({ maxLength: 512 })),
  email: Type.Optional(Nullable(Type.String({ maxLength: 320 }))),
});
const DeleteBody = Type.Union([
  Type.Object({ password: Type.Optional(Type.String({ maxLength: 1024 })) }),
  Type.Null(),
]);
const IdParams = Type.Object({ id: Uuid });

/** The WebAuthn options JSON, passed through whole (the browser reads every field). */
const OptionsSchema = Type.Object(
  { challenge: Type.String(), timeout: Type.Optional(Type.Integer()) },
  { additionalProperties: true, description: 'WebAuthn options JSON (Level 3 §5.1.x `…OptionsJSON`)' },
);
const PasskeySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String({ format: 'uuid' }),
  credential_id: Type.String(),
  name: Type.String(),
  aaguid: Type.String(),
  sign_count: Type.Integer(),
  transports: Type.Array(Type.String()),
  device_type: Type.String({ description: '`singleDevice` or `multiDevice` (synced)' }),
  backed_up: Type.Boolean(),
  created_at: DateTime,
  updated_at: DateTime,
  last_used_at: Nullable(DateTime),
});
const RegisteredSchema = Type.Object({
  verified: Type.Boolean(),
  passkey_id: Type.String({ format: 'uuid' }),
  message: Type.String(),
  passkey: PasskeySchema,
});
const SignInSchema = Type.Object({
  verified: Type.Boolean(),
  ...TokenFields,
  tokens: Type.Object(TokenFields),
  user: UserSchema,
});
const AvailabilitySchema = Type.Object({
  available: Type.Boolean(),
  platform_authenticator: Type.Boolean(),
  roaming_authenticator: Type.Boolean(),
  conditional_mediation: Type.Boolean(),
  user_verifying_platform_authenticator: Type.Boolean(),
  rp_id: Type.String(),
  rp_name: Type.String(),
});

const tags = ['passkeys'];

function signedInBody(s: SignedIn) {
  return { verified: true, ...s.tokens, tokens: s.tokens, user: presentUser(s.user) };
}

export async function passkeyRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const signedIn = signedInRoutes(app, 'passkeys');
  app.addHook('onRequest', pragmaNoCache);

  for (const [url, hide] of [
    ['/register/begin', false],
    ['/register/options', true],
  ] as const)
    r.post(
      url,
      {
        ...signedIn(
          'Start registering a passkey: WebAuthn creation options (resident key, user verification)',
          {
            hide,
            body: Type.Optional(RegisterBeginBody),
            response: { 200: OptionsSchema, ...errors(401, 422) },
          },
        ),
      },
      async (request) => beginRegistration(deps, request.auth!.user),
    );

  for (const [url, hide] of [
    ['/register/complete', false],
    ['/register/verify', true],
  ] as const)
    r.post(
      url,
      {
        ...signedIn('Finish registering: the authenticator’s response to the creation options', {
          hide,
          body: RegisterCompleteBody,
          response: { 200: RegisteredSchema, ...errors(400, 401, 409, 422) },
        }),
      },
      async (request) => {
        const p = await completeRegistration(
          deps,
          request.auth!.user,
          { credential: request.body.credential, name: request.body.name },
          requestContext(request),
        );
        return {
          verified: true,
          passkey_id: p.id,
          message: 'Passkey registered',
          passkey: presentPasskey(p),
        };
      },
    );

  for (const [url, hide] of [
    ['/authenticate/begin', false],
    ['/authenticate/options', true],
  ] as const)
    r.post(
      url,
      {
        config: { rateLimit: 'credentials' },
        schema: {
          tags,
          summary:
            'Start a passkey sign-in: request options (with `email`, that account’s passkeys; without, any discoverable one)',
          hide,
          body: Type.Optional(AuthBeginBody),
          response: { 200: OptionsSchema, ...errors(422, 429) },
        },
      },
      async (request) => beginAuthentication(deps, { email: request.body?.email }),
    );

  for (const [url, hide] of [
    ['/authenticate/complete', false],
    ['/authenticate/verify', true],
  ] as const)
    r.post(
      url,
      {
        config: { rateLimit: 'credentials' },
        schema: {
          tags,
          summary: 'Finish a passkey sign-in: the assertion, answered with the token response',
          hide,
          body: AuthCompleteBody,
          response: { 200: SignInSchema, ...errors(401, 403, 422, 429) },
        },
      },
      async (request) =>
        signedInBody(
          await completeAuthentication(
            deps,
            { credential: request.body.credential },
            requestContext(request),
          ),
        ),
    );

  r.get(
    '/availability',
    {
      schema: {
        tags,
        summary: 'Whether this server accepts passkeys, and its relying party',
        response: { 200: AvailabilitySchema },
      },
    },
    async () => ({
      available: true,
      platform_authenticator: true,
      roaming_authenticator: true,
      conditional_mediation: true,
      user_verifying_platform_authenticator: true,
      rp_id: deps.config.webauthnRpId,
      rp_name: deps.config.webauthnRpName,
    }),
  );

  r.get(
    '/',
    {
      ...signedIn('Your passkeys, oldest first', {
        response: { 200: Type.Array(PasskeySchema), ...errors(401) },
      }),
    },
    async (request) => (await listPasskeys(deps, request.auth!.user.id)).map(presentPasskey),
  );

  r.patch(
    '/:id',
    {
      ...signedIn('Rename one of your passkeys', {
        params: IdParams,
        body: Type.Object({ name: Name }),
        response: { 200: PasskeySchema, ...errors(401, 404, 422) },
      }),
    },
    async (request) =>
      presentPasskey(
        await renamePasskey(
          deps,
          request.auth!.user.id,
          request.params.id,
          request.body.name,
          requestContext(request),
        ),
      ),
  );

  r.delete(
    '/:id',
    {
      ...signedIn('Remove one of your passkeys (`password` required when the account has one)', {
        params: IdParams,
        body: Type.Optional(DeleteBody),
        response: { 200: MessageSchema, ...errors(401, 404, 422) },
      }),
    },
    async (request) => {
      await removePasskey(
        deps,
        request.auth!.user.id,
        request.params.id,
        { password: request.body?.password },
        requestContext(request),
      );
      return { message: 'Passkey removed' };
    },
  );
}
