/**
 * Providers of sign-in factors: TOTP, backup codes and pending second-factor challenges; passkeys. Exports
 * carry metadata only — never a seed, a code hash or a challenge (issue 15: "metadata, never secrets").
 */
import { toBool, toJson, toNumber } from '../../store/codec.js';
import type { PersonalDataProvider } from '../provider.js';
import { affected, iso } from './dates.js';

export const mfaProvider: PersonalDataProvider = {
  name: 'mfa',
  description:
    'Two-factor authentication: the TOTP factor (status and dates), backup codes left, recent challenges',
  covers: [
    'mfa_totp_factors.user_id',
    'mfa_backup_codes.user_id',
    'mfa_challenges.user_id',
    'mfa_challenges.ip',
    'mfa_challenges.user_agent',
  ],
  async export(ex, s) {
    const totp = await ex
      .selectFrom('mfa_totp_factors')
      .select(['status', 'created_at', 'confirmed_at', 'last_used_at'])
      .where('user_id', '=', s.userId)
      .executeTakeFirst();
    const codes = await ex
      .selectFrom('mfa_backup_codes')
      .select(['created_at', 'used_at'])
      .where('user_id', '=', s.userId)
      .execute();
    const challenges = await ex
      .selectFrom('mfa_challenges')
      .select(['purpose', 'method', 'ip', 'user_agent', 'failed_attempts', 'created_at', 'consumed_at'])
      .where('user_id', '=', s.userId)
      .orderBy('created_at')
      .execute();
    return {
      totp: totp
        ? {
            status: totp.status,
            created_at: iso(totp.created_at),
            confirmed_at: iso(totp.confirmed_at),
            last_used_at: iso(totp.last_used_at),
          }
        : null,
      backup_codes: {
        total: codes.length,
        remaining: codes.filter((c) => c.used_at === null).length,
        used_at: codes.map((c) => iso(c.used_at)).filter((v) => v !== null),
      },
      challenges: challenges.map((c) => ({
        purpose: c.purpose,
        method: c.method,
        ip: c.ip,
        user_agent: c.user_agent,
        failed_attempts: c.failed_attempts,
        created_at: iso(c.created_at),
        consumed_at: iso(c.consumed_at),
      })),
    };
  },
  async erase(tx, s) {
    let n = 0;
    for (const table of ['mfa_challenges', 'mfa_backup_codes', 'mfa_totp_factors'] as const)
      n += affected(await tx.deleteFrom(table).where('user_id', '=', s.userId).executeTakeFirst());
    return n;
  },
};

export const passkeysProvider: PersonalDataProvider = {
  name: 'passkeys',
  description: 'Registered passkeys: name, authenticator model, backup state, dates (never the key material)',
  covers: ['webauthn_credentials.user_id', 'webauthn_credentials.name', 'webauthn_challenges.user_id'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('webauthn_credentials')
      .select([
        'id',
        'name',
        'aaguid',
        'device_type',
        'backed_up',
        'transports',
        'sign_count',
        'created_at',
        'last_used_at',
      ])
      .where('user_id', '=', s.userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      aaguid: r.aaguid,
      device_type: r.device_type,
      backed_up: toBool(r.backed_up),
      transports: toJson(r.transports) ?? [],
      sign_count: toNumber(r.sign_count),
      created_at: iso(r.created_at),
      last_used_at: iso(r.last_used_at),
    }));
  },
  async erase(tx, s) {
    let n = 0;
    for (const table of ['webauthn_challenges', 'webauthn_credentials'] as const)
      n += affected(await tx.deleteFrom(table).where('user_id', '=', s.userId).executeTakeFirst());
    return n;
  },
};
