/** Bodies and answers of the MFA routes, and the sign-in answer that may be an MFA challenge (docs/mfa.md). */
import { Type } from 'typebox';
import type { SignedIn } from '../../core/auth/service.js';
import { isMfaRequired, MFA_TOKEN_TTL_MS, type SignInResult } from '../../core/mfa/challenge.js';
import type { TotpEnrollment } from '../../core/mfa/enroll.js';
import { presentUser } from '../../core/users/model.js';
import { TokenFields, UserSchema } from '../schemas.js';

/** A TOTP code (six digits) or a backup code (`XXXX-XXXX`); its shape is checked in core. */
export const Code = Type.String({ minLength: 1, maxLength: 32, description: 'A TOTP code or a backup code' });
export const MfaToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The mfa_token of the sign-in',
});
const Password = Type.String({ minLength: 1, maxLength: 1024 });

export const VerifyBody = Type.Object({ mfa_token: MfaToken, code: Code });
export const EnableBody = Type.Union([
  Type.Object({
    password: Type.Optional(Password),
    mfa_token: Type.Optional(MfaToken),
    method: Type.Optional(Type.Literal('totp')),
  }),
  Type.Null(),
]);
export const ConfirmBody = Type.Object({ code: Code, mfa_token: Type.Optional(MfaToken) });
export const DisableBody = Type.Object({ password: Password, code: Code });
export const PasswordBody = Type.Object({ password: Password });
export const CodeBody = Type.Object({ code: Code });

export const SessionResponse = Type.Object({
  ...TokenFields,
  tokens: Type.Object(TokenFields),
  user: UserSchema,
});
/** A finished sign-in; an enrolment sign-in adds the new backup codes. */
export const SessionWithCodesResponse = Type.Object({
  ...TokenFields,
  tokens: Type.Object(TokenFields),
  user: UserSchema,
  backup_codes: Type.Optional(Type.Array(Type.String())),
});
export const MfaChallengeResponse = Type.Object({
  mfa_required: Type.Literal(true),
  requires_mfa: Type.Literal(true, { description: "The original SDK's spelling of mfa_required" }),
  mfa_token: Type.String({ description: 'Single use, 5 minutes; exchange at POST /api/v1/mfa/verify' }),
  mfa_methods: Type.Array(Type.String(), {
    description: '"totp", "backup_code"; empty when enrolment is required',
  }),
  mfa_enrollment_required: Type.Boolean({
    description: 'No factor yet, but an organization requires one: enrol with this mfa_token',
  }),
  expires_in: Type.Integer({ description: 'Seconds the mfa_token stays valid' }),
  message: Type.String(),
});
/** What a first-factor sign-in answers: tokens, or an MFA challenge. */
export const SignInResponse = Type.Union([SessionResponse, MfaChallengeResponse]);

export function sessionBody(s: SignedIn) {
  return { ...s.tokens, tokens: s.tokens, user: presentUser(s.user) };
}

export function signInBody(r: SignInResult) {
  if (!isMfaRequired(r)) return sessionBody(r);
  return {
    mfa_required: true as const,
    requires_mfa: true as const,
    mfa_token: r.mfaToken,
    mfa_methods: r.methods,
    mfa_enrollment_required: r.enrollmentRequired,
    expires_in: MFA_TOKEN_TTL_MS / 1000,
    message: r.enrollmentRequired
      ? 'Your organization requires two-factor authentication: set it up to finish signing in'
      : 'Enter a code from your authenticator app or a backup code',
  };
}

export const EnableResponse = Type.Object({
  secret: Type.String({ description: 'Base32 seed, for manual entry' }),
  qr_code: Type.String({ description: 'PNG data URL of the otpauth URI' }),
  provisioning_uri: Type.String(),
  otpauth_uri: Type.String(),
  backup_codes: Type.Optional(Type.Array(Type.String())),
  message: Type.String(),
});

export function enableBody(e: TotpEnrollment) {
  return {
    secret: e.secret,
    qr_code: e.qrCode,
    provisioning_uri: e.otpauthUri,
    otpauth_uri: e.otpauthUri,
    ...(e.backupCodes ? { backup_codes: e.backupCodes } : {}),
    message: 'Scan the QR code, then confirm with a code from the app',
  };
}

export const ConfirmedResponse = Type.Object({
  enabled: Type.Literal(true),
  verified: Type.Literal(true),
  backup_codes: Type.Optional(Type.Array(Type.String())),
  message: Type.String(),
});

export const StatusResponse = Type.Object({
  enabled: Type.Boolean(),
  verified: Type.Boolean(),
  pending: Type.Boolean({ description: 'Enrolment started, not yet confirmed' }),
  methods: Type.Array(Type.String()),
  backup_codes_remaining: Type.Integer(),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  enabled_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const BackupCodesResponse = Type.Object({
  backup_codes: Type.Array(Type.String()),
  generated_at: Type.String({ format: 'date-time' }),
  message: Type.String(),
});

export const BackupSummaryResponse = Type.Object({
  remaining: Type.Integer(),
  total: Type.Integer(),
  generated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  message: Type.String(),
});

export const ValidateResponse = Type.Object({ valid: Type.Boolean(), message: Type.String() });
export const DisabledResponse = Type.Object({ enabled: Type.Literal(false), message: Type.String() });
