/**
 * The email-driven flows: verification, password reset and change, magic links, email change — under the
 * documented paths and the spellings the original SDK sends (API.md, "Client compatibility"), one handler each.
 * Requests by address answer the same whether or not an account has it (see core/auth/flows/requests.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { confirmEmailChange, requestEmailChange } from '../../core/auth/flows/email-change.js';
import { checkRedirectUrl } from '../../core/auth/flows/links.js';
import { verifyMagicLinkWithMfa } from '../../core/auth/flows/magic-link.js';
import { changePassword, confirmPasswordReset } from '../../core/auth/flows/password.js';
import { type EmailFlow, requestByEmail } from '../../core/auth/flows/requests.js';
import { resendVerification, verifyEmail } from '../../core/auth/flows/verification.js';
import { authenticate, checkEmail } from '../../core/auth/service.js';
import type { Deps } from '../../core/deps.js';
import { JanuaError } from '../../core/errors.js';
import { presentUser } from '../../core/users/model.js';
import { bearerToken, requestContext } from '../plugins/authenticate.js';
import { errors, MessageSchema, UserSchema } from '../schemas.js';
import { pragmaNoCache } from '../security-headers.js';
import { SignInResponse, signInBody } from './mfa-schemas.js';

const Email = Type.String({ minLength: 3, maxLength: 320 });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const Token = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The `token` parameter of the mailed link',
});
const RedirectUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Page the mailed link leads to; must be on REDIRECT_ALLOWLIST',
});

const ByEmailBody = Type.Object({ email: Email, redirect_url: Type.Optional(RedirectUrl) });
const TokenBody = Type.Object({ token: Token });
const TokenQuery = Type.Object({ token: Token });
const ResendBody = Type.Union([
  Type.Object({ email: Type.Optional(Email), redirect_url: Type.Optional(RedirectUrl) }),
  Type.Null(),
]);
const ResetConfirmBody = Type.Object({ token: Token, new_password: Password });
/** The SDK's spelling: the field is `password`. */
const SdkResetConfirmBody = Type.Object({ token: Token, password: Password });
const ChangePasswordBody = Type.Object({ current_password: Password, new_password: Password });
const EmailChangeBody = Type.Object({
  new_email: Email,
  password: Password,
  redirect_url: Type.Optional(RedirectUrl),
});

const UserMessage = Type.Object({ message: Type.String(), user: UserSchema });

/** What every request by address answers, known or not. */
const SENT = {
  password_reset: 'If an account exists for this email, a password reset link has been sent',
  magic_link: 'If an account exists for this email, a sign-in link has been sent',
  verify_resend: 'If this email awaits verification, a new verification link has been sent',
} as const satisfies Record<EmailFlow, string>;

/** After a GET link: on to the allow-listed page the mail was sent for, with the outcome as a parameter. */
function onward(reply: FastifyReply, page: string, params: Record<string, string>) {
  const url = new URL(page);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return reply.redirect(url.href, 303);
}

export async function authFlowRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  const tags = ['auth'];
  app.addHook('onRequest', pragmaNoCache);

  // Requests by address: reset (three spellings) and magic link (two). Same answer, same work, any address.
  const byEmail: Array<[string, EmailFlow, boolean, string]> = [
    ['/password/reset', 'password_reset', false, 'Request a password reset link'],
    ['/password/forgot', 'password_reset', true, 'Request a password reset link'],
    ['/password/reset-request', 'password_reset', true, 'Request a password reset link'],
    ['/magic-link', 'magic_link', false, 'Mail a sign-in link (15 minutes, single use)'],
    ['/magic-link/resend', 'magic_link', true, 'Mail a sign-in link again'],
  ];
  for (const [url, flow, hide, summary] of byEmail)
    r.post(
      url,
      {
        config: { rateLimit: 'credentials' },
        schema: {
          tags,
          summary,
          hide,
          body: ByEmailBody,
          response: { 202: MessageSchema, ...errors(400, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        const b = request.body;
        await requestByEmail(
          deps,
          { flow, email: b.email, redirectUrl: b.redirect_url },
          requestContext(request),
        );
        reply.status(202);
        return { message: SENT[flow] };
      },
    );

  for (const [url, hide] of [
    ['/email/resend', false],
    ['/email/resend-verification', true],
  ] as const)
    r.post(
      url,
      {
        config: { rateLimit: 'credentials' },
        schema: {
          tags,
          summary:
            'Mail a new verification link: to the signed-in user, or (without a bearer token) to `email`',
          hide,
          body: Type.Optional(ResendBody),
          security: [{ bearer: [] }, {}],
          response: { 202: MessageSchema, ...errors(400, 401, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        const b = request.body ?? {};
        // Everything given is checked before anything is done, signed in or not.
        const redirectUrl = b.redirect_url ? checkRedirectUrl(deps.config, b.redirect_url) : null;
        if (b.email !== undefined) checkEmail(b.email);
        const token = bearerToken(request);
        reply.status(202);
        if (token) {
          const auth = await authenticate(deps, token);
          request.auth = auth;
          await resendVerification(deps, auth.user, redirectUrl, requestContext(request));
          return {
            message: auth.user.emailVerified
              ? 'This email address is already verified'
              : 'Verification email sent',
          };
        }
        if (b.email === undefined)
          throw new JanuaError('VALIDATION_ERROR', 'Sign in, or name the email to verify', {
            fields: { email: 'required' },
          });
        await requestByEmail(
          deps,
          { flow: 'verify_resend', email: b.email, redirectUrl },
          requestContext(request),
        );
        return { message: SENT.verify_resend };
      },
    );

  r.post(
    '/email/verify',
    {
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary: 'Verify an email address with the mailed token (48 hours, single use)',
        body: TokenBody,
        response: { 200: UserMessage, ...errors(401, 422, 429) },
      },
    },
    async (request) => {
      const { user } = await verifyEmail(deps, request.body.token, requestContext(request));
      return { message: 'Email verified', user: presentUser(user) };
    },
  );

  r.get(
    '/email/verify',
    {
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary:
          'The mailed verification link: verifies, then redirects (303) to the page named when it was sent',
        querystring: TokenQuery,
        response: { 200: UserMessage, 303: Type.Null(), ...errors(401, 422, 429) },
      },
    },
    async (request, reply) => {
      const { user, redirectUrl } = await verifyEmail(deps, request.query.token, requestContext(request));
      if (redirectUrl) return onward(reply, redirectUrl, { email_verified: 'true' });
      return { message: 'Email verified', user: presentUser(user) };
    },
  );

  for (const [url, hide] of [
    ['/password/reset/confirm', false],
    // Shown in the API document although an alias: its body differs (`password`), so it is checked on its own.
    ['/password/confirm', false],
  ] as const) {
    const sdk = url === '/password/confirm';
    r.post(
      url,
      {
        config: { rateLimit: 'credentials' },
        schema: {
          tags,
          summary: 'Set a new password with the mailed reset token; ends every session',
          hide,
          body: sdk ? SdkResetConfirmBody : ResetConfirmBody,
          response: { 200: MessageSchema, ...errors(401, 422, 429, 503) },
        },
      },
      async (request) => {
        const b = request.body as { token: string; new_password?: string; password?: string };
        await confirmPasswordReset(
          deps,
          { token: b.token, newPassword: (sdk ? b.password : b.new_password) ?? '' },
          requestContext(request),
        );
        return { message: 'Password has been reset; sign in with the new password' };
      },
    );
  }

  for (const method of ['POST', 'PUT'] as const)
    r.route({
      method,
      url: '/password/change',
      preHandler: app.requireAuth,
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary: "Change the signed-in user's password; their other sessions end",
        hide: method === 'PUT',
        body: ChangePasswordBody,
        security: [{ bearer: [] }],
        response: { 200: MessageSchema, ...errors(401, 422, 429, 503) },
      },
      handler: async (request) => {
        const auth = request.auth!;
        const b = request.body;
        await changePassword(
          deps,
          { userId: auth.user.id, sessionId: auth.session.id },
          { currentPassword: b.current_password, newPassword: b.new_password },
          requestContext(request),
        );
        return { message: 'Password changed' };
      },
    });

  r.post(
    '/magic-link/verify',
    {
      config: { rateLimit: 'credentials', maintenance: 'allow' },
      schema: {
        tags,
        summary: 'Sign in with a mailed magic-link token',
        body: TokenBody,
        description:
          'A user with two-factor authentication gets an MFA challenge instead of tokens (docs/mfa.md).',
        response: { 200: SignInResponse, ...errors(401, 403, 422, 429) },
      },
    },
    async (request) =>
      signInBody(await verifyMagicLinkWithMfa(deps, request.body.token, requestContext(request))),
  );

  r.post(
    '/email/change',
    {
      preHandler: app.requireAuth,
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary: 'Change the email address: a confirmation link goes to the new one, a notice to the old one',
        body: EmailChangeBody,
        security: [{ bearer: [] }],
        response: { 202: MessageSchema, ...errors(400, 401, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      await requestEmailChange(
        deps,
        request.auth!.user,
        { newEmail: b.new_email, password: b.password, redirectUrl: b.redirect_url },
        requestContext(request),
      );
      reply.status(202);
      return { message: 'Confirmation email sent to the new address' };
    },
  );

  r.post(
    '/email/change/confirm',
    {
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary: 'Confirm an email change with the token mailed to the new address',
        body: TokenBody,
        response: { 200: UserMessage, ...errors(401, 409, 422, 429) },
      },
    },
    async (request) => {
      const { user } = await confirmEmailChange(deps, request.body.token, requestContext(request));
      return { message: 'Email address changed', user: presentUser(user) };
    },
  );

  r.get(
    '/email/change/confirm',
    {
      config: { rateLimit: 'credentials' },
      schema: {
        tags,
        summary:
          'The mailed email-change link: confirms, then redirects (303) to the page named when it was sent',
        querystring: TokenQuery,
        response: { 200: UserMessage, 303: Type.Null(), ...errors(401, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const { user, redirectUrl } = await confirmEmailChange(
        deps,
        request.query.token,
        requestContext(request),
      );
      if (redirectUrl) return onward(reply, redirectUrl, { email_changed: 'true' });
      return { message: 'Email address changed', user: presentUser(user) };
    },
  );
}
