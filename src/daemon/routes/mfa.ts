/**
 * TOTP multi-factor authentication (docs/mfa.md): the documented `/api/v1/mfa/*` paths and the original SDK's
 * `/api/v1/auth/mfa/enable|verify|disable` (API.md, "Client compatibility"). Enrolment routes take either a
 * bearer token or, for a sign-in that must enrol, the sign-in's `mfa_token` in the body — never as a bearer.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Deps } from '../../core/deps.js';
import { liveChallenge, verifyMfaSignIn } from '../../core/mfa/challenge.js';
import {
  backupCodeSummary,
  confirmTotp,
  disableTotp,
  mfaStatus,
  regenerateBackupCodes,
  spendUserCode,
  startTotp,
} from '../../core/mfa/enroll.js';
import { completeEnrollmentSignIn, startEnrollmentSignIn } from '../../core/mfa/signin.js';
import { requestContext } from '../plugins/authenticate.js';
import { errors } from '../schemas.js';
import { pragmaNoCache } from '../security-headers.js';
import {
  BackupCodesResponse,
  BackupSummaryResponse,
  CodeBody,
  ConfirmBody,
  ConfirmedResponse,
  DisableBody,
  DisabledResponse,
  EnableBody,
  EnableResponse,
  enableBody,
  PasswordBody,
  SessionResponse,
  SessionWithCodesResponse,
  StatusResponse,
  sessionBody,
  ValidateResponse,
  VerifyBody,
} from './mfa-schemas.js';

const tags = ['mfa'];
const bearer = [{ bearer: [] }];
/** Code checks are credential guesses: the stricter per-IP limit of sign-in applies. */
const credentials = { rateLimit: 'credentials' as const };

export async function mfaRoutes(app: FastifyInstance, opts: { deps: Deps }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { deps } = opts;
  app.addHook('onRequest', pragmaNoCache);

  /** The signed-in caller (bearer checked here, for routes that also take an mfa_token instead). */
  const signedIn = async (request: FastifyRequest) => {
    await app.requireAuth(request);
    return request.auth!;
  };

  // Enrolment: documented path, and the SDK's (which shows backup codes at this step).
  for (const [url, sdk] of [
    ['/mfa/totp/enable', false],
    ['/auth/mfa/enable', true],
  ] as const)
    r.post(
      url,
      {
        config: credentials,
        schema: {
          tags,
          summary:
            'Start TOTP enrolment: a seed, its otpauth:// URI and a QR code (confirm with a code next)',
          description:
            'Signed in: needs `password`, or a sign-in within MFA_RECENT_SIGNIN_MINUTES. Or, for a sign-in that answered `mfa_enrollment_required`, its `mfa_token` in the body.',
          hide: sdk,
          body: EnableBody,
          security: bearer,
          response: { 200: EnableResponse, ...errors(401, 409, 422, 429) },
        },
      },
      async (request) => {
        const b = request.body ?? {};
        const ctx = requestContext(request);
        if (b.mfa_token)
          return enableBody(await startEnrollmentSignIn(deps, b.mfa_token, { withBackupCodes: sdk }, ctx));
        const auth = await signedIn(request);
        const e = await startTotp(
          deps,
          auth.user,
          { session: auth.session, password: b.password, withBackupCodes: sdk },
          requestContext(request),
        );
        return enableBody(e);
      },
    );

  r.post(
    '/mfa/totp/confirm',
    {
      config: credentials,
      schema: {
        tags,
        summary: 'Confirm TOTP enrolment with a code: MFA is on, backup codes are issued (shown once)',
        description:
          'With the `mfa_token` of an enrolment-required sign-in, this also completes that sign-in: the token response plus `backup_codes`.',
        body: ConfirmBody,
        security: bearer,
        response: {
          200: { anyOf: [SessionWithCodesResponse, ConfirmedResponse] },
          ...errors(401, 409, 422, 429),
        },
      },
    },
    async (request) => {
      const b = request.body;
      if (b.mfa_token) {
        const s = await completeEnrollmentSignIn(
          deps,
          { mfaToken: b.mfa_token, code: b.code },
          requestContext(request),
        );
        return { ...sessionBody(s), backup_codes: s.backupCodes };
      }
      const auth = await signedIn(request);
      const c = await confirmTotp(
        deps,
        auth.user,
        b.code,
        { issueBackupCodes: true },
        requestContext(request),
      );
      return {
        enabled: true as const,
        verified: true as const,
        backup_codes: c.backupCodes ?? [],
        message: 'Two-factor authentication is on; keep the backup codes somewhere safe',
      };
    },
  );

  r.post(
    '/mfa/verify',
    {
      config: { ...credentials, maintenance: 'allow' },
      schema: {
        tags,
        summary: 'Finish a sign-in: the mfa_token and a TOTP or backup code → the token response',
        body: VerifyBody,
        response: { 200: SessionResponse, ...errors(401, 422, 429) },
      },
    },
    async (request) =>
      sessionBody(
        await verifyMfaSignIn(
          deps,
          { mfaToken: request.body.mfa_token, code: request.body.code },
          requestContext(request),
        ),
      ),
  );

  // The SDK's verify: with mfa_token it finishes a sign-in (or an enrolment sign-in); without, a signed-in
  // user confirms their enrolment.
  r.post(
    '/auth/mfa/verify',
    {
      config: { ...credentials, maintenance: 'allow' },
      schema: {
        tags,
        summary: 'SDK: finish a sign-in ({code, mfa_token}) or confirm enrolment ({code}, signed in)',
        hide: true,
        body: ConfirmBody,
        security: bearer,
        response: {
          200: { anyOf: [SessionWithCodesResponse, ConfirmedResponse] },
          ...errors(401, 409, 422, 429),
        },
      },
    },
    async (request) => {
      const b = request.body;
      const ctx = requestContext(request);
      if (b.mfa_token) {
        const { challenge } = await liveChallenge(deps, b.mfa_token, ['signin', 'enroll'], ctx);
        if (challenge.purpose === 'enroll') {
          const s = await completeEnrollmentSignIn(deps, { mfaToken: b.mfa_token, code: b.code }, ctx);
          return { ...sessionBody(s), backup_codes: s.backupCodes };
        }
        return sessionBody(await verifyMfaSignIn(deps, { mfaToken: b.mfa_token, code: b.code }, ctx));
      }
      const auth = await signedIn(request);
      // The SDK's enable showed backup codes already; a set is issued here only if there is none.
      const none = (await backupCodeSummary(deps, auth.user.id)).total === 0;
      const c = await confirmTotp(
        deps,
        auth.user,
        b.code,
        { issueBackupCodes: none },
        requestContext(request),
      );
      return {
        enabled: true as const,
        verified: true as const,
        ...(c.backupCodes ? { backup_codes: c.backupCodes } : {}),
        message: 'Two-factor authentication is on',
      };
    },
  );

  for (const [url, sdk] of [
    ['/mfa/disable', false],
    ['/auth/mfa/disable', true],
  ] as const)
    r.post(
      url,
      {
        onRequest: app.requireAuth,
        config: credentials,
        schema: {
          tags,
          summary: 'Turn MFA off: the current password and a TOTP or backup code',
          hide: sdk,
          body: DisableBody,
          security: bearer,
          response: { 200: DisabledResponse, ...errors(401, 422, 429) },
        },
      },
      async (request) => {
        const b = request.body;
        await disableTotp(
          deps,
          request.auth!.user,
          { password: b.password, code: b.code },
          requestContext(request),
        );
        return { enabled: false as const, message: 'Two-factor authentication is off' };
      },
    );

  r.get(
    '/mfa/status',
    {
      onRequest: app.requireAuth,
      schema: {
        tags,
        summary: "The caller's MFA state",
        security: bearer,
        response: { 200: StatusResponse, ...errors(401) },
      },
    },
    async (request) => {
      const s = await mfaStatus(deps, request.auth!.user.id);
      return {
        enabled: s.enabled,
        verified: s.verified,
        pending: s.pending,
        methods: s.methods,
        backup_codes_remaining: s.backupCodesRemaining,
        last_used_at: s.lastUsedAt?.toISOString() ?? null,
        enabled_at: s.enabledAt?.toISOString() ?? null,
      };
    },
  );

  r.get(
    '/mfa/backup-codes',
    {
      onRequest: app.requireAuth,
      schema: {
        tags,
        summary:
          'How many backup codes are left (codes are shown once; POST /mfa/regenerate-backup-codes for new ones)',
        security: bearer,
        response: { 200: BackupSummaryResponse, ...errors(401) },
      },
    },
    async (request) => {
      const s = await backupCodeSummary(deps, request.auth!.user.id);
      return {
        remaining: s.remaining,
        total: s.total,
        generated_at: s.generatedAt?.toISOString() ?? null,
        message: 'Backup codes are shown only when issued; regenerate to get a new set',
      };
    },
  );

  r.post(
    '/mfa/regenerate-backup-codes',
    {
      onRequest: app.requireAuth,
      config: credentials,
      schema: {
        tags,
        summary: 'A new set of 10 backup codes (the old set stops working), with the current password',
        body: PasswordBody,
        security: bearer,
        response: { 200: BackupCodesResponse, ...errors(401, 422, 429) },
      },
    },
    async (request) => {
      const r = await regenerateBackupCodes(
        deps,
        request.auth!.user,
        request.body.password,
        requestContext(request),
      );
      return {
        backup_codes: r.codes,
        generated_at: r.generatedAt.toISOString(),
        message: 'New backup codes; the previous ones no longer work',
      };
    },
  );

  r.post(
    '/mfa/validate-code',
    {
      onRequest: app.requireAuth,
      config: credentials,
      schema: {
        tags,
        summary: "Check (and spend) a code of the caller's authenticator",
        body: CodeBody,
        security: bearer,
        response: { 200: ValidateResponse, ...errors(401, 422, 429) },
      },
    },
    async (request) => {
      const valid = await spendUserCode(
        deps,
        request.auth!.user,
        request.body.code,
        'mfa.code.validate',
        requestContext(request),
        {
          allowBackup: false,
          soft: true,
        },
      );
      return { valid, message: valid ? 'Code is valid' : 'Code is not valid' };
    },
  );
}
