/**
 * Providers of the account itself: the profile (users, password credential), sessions, sign-in failure
 * counters, email-flow links and linked accounts at other providers. The `users` row goes last in an
 * erasure (see ../registry.ts): the other providers still find the user while they run.
 */
import { signInAttemptKey } from '../../auth/service.js';
import { toBool, toJson } from '../../store/codec.js';
import type { PersonalDataProvider } from '../provider.js';
import { affected, iso } from './dates.js';

export const profileProvider: PersonalDataProvider = {
  name: 'profile',
  description: 'The account: email, names, phone, locale, metadata; whether a password is set',
  covers: [
    'users.id',
    'users.email',
    'users.username',
    'users.first_name',
    'users.last_name',
    'users.display_name',
    'users.nickname',
    'users.phone_number',
    'users.profile_image_url',
    'users.user_metadata',
    'users.app_metadata',
    'password_credentials.user_id',
  ],
  async export(ex, s) {
    const u = await ex.selectFrom('users').selectAll().where('id', '=', s.userId).executeTakeFirstOrThrow();
    const pw = await ex
      .selectFrom('password_credentials')
      .select(['created_at', 'updated_at'])
      .where('user_id', '=', s.userId)
      .executeTakeFirst();
    return {
      id: u.id,
      email: u.email,
      email_verified: toBool(u.email_verified),
      username: u.username,
      first_name: u.first_name,
      last_name: u.last_name,
      display_name: u.display_name,
      nickname: u.nickname,
      profile_image_url: u.profile_image_url,
      phone_number: u.phone_number,
      phone_verified: toBool(u.phone_verified),
      timezone: u.timezone,
      locale: u.locale,
      status: u.status,
      is_admin: toBool(u.is_admin),
      mfa_enabled: toBool(u.mfa_enabled),
      user_metadata: toJson(u.user_metadata) ?? {},
      app_metadata: toJson(u.app_metadata) ?? {},
      created_at: iso(u.created_at),
      updated_at: iso(u.updated_at),
      last_sign_in_at: iso(u.last_sign_in_at),
      password: pw
        ? { set: true, created_at: iso(pw.created_at), updated_at: iso(pw.updated_at) }
        : { set: false },
    };
  },
  async erase(tx, s) {
    // Everything still hanging off the row by a foreign key goes with it (ON DELETE CASCADE); the providers
    // before this one have already removed or pseudonymized what they answer for.
    const r = await tx.deleteFrom('users').where('id', '=', s.userId).executeTakeFirst();
    return affected(r);
  },
};

export const sessionsProvider: PersonalDataProvider = {
  name: 'sessions',
  description: 'Sessions: when, from which IP address and user agent; revocations',
  covers: ['sessions.user_id', 'sessions.ip', 'sessions.user_agent'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('sessions')
      .select([
        'id',
        'created_at',
        'last_used_at',
        'expires_at',
        'revoked_at',
        'revoke_reason',
        'ip',
        'user_agent',
      ])
      .where('user_id', '=', s.userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      created_at: iso(r.created_at),
      last_used_at: iso(r.last_used_at),
      expires_at: iso(r.expires_at),
      revoked_at: iso(r.revoked_at),
      revoke_reason: r.revoke_reason,
      ip: r.ip,
      user_agent: r.user_agent,
    }));
  },
  async erase(tx, s) {
    // Deleting the session revokes it: refresh tokens go with it (cascade) and access tokens name a session
    // that no longer exists, so they stop working at once.
    return affected(await tx.deleteFrom('sessions').where('user_id', '=', s.userId).executeTakeFirst());
  },
};

export const signInAttemptsProvider: PersonalDataProvider = {
  name: 'sign_in_attempts',
  description: 'The failed sign-in counter and lockout of the email address',
  covers: ['sign_in_attempts.key'],
  async export(ex, s) {
    const r = await ex
      .selectFrom('sign_in_attempts')
      .select(['failed_count', 'locked_until', 'updated_at'])
      .where('key', '=', signInAttemptKey(s.email))
      .executeTakeFirst();
    return r
      ? { failed_count: r.failed_count, locked_until: iso(r.locked_until), updated_at: iso(r.updated_at) }
      : null;
  },
  async erase(tx, s) {
    return affected(
      await tx.deleteFrom('sign_in_attempts').where('key', '=', signInAttemptKey(s.email)).executeTakeFirst(),
    );
  },
};

export const emailLinksProvider: PersonalDataProvider = {
  name: 'email_links',
  description: 'Verification, password-reset and magic links sent (when, what for; never the token)',
  covers: ['one_time_tokens.user_id', 'one_time_tokens.email', 'one_time_tokens.redirect_url'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('one_time_tokens')
      .select(['purpose', 'email', 'created_at', 'expires_at', 'consumed_at', 'consume_reason'])
      .where((eb) => eb.or([eb('user_id', '=', s.userId), eb('email', '=', s.email)]))
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      purpose: r.purpose,
      email: r.email,
      created_at: iso(r.created_at),
      expires_at: iso(r.expires_at),
      consumed_at: iso(r.consumed_at),
      consume_reason: r.consume_reason,
    }));
  },
  async erase(tx, s) {
    return affected(
      await tx
        .deleteFrom('one_time_tokens')
        .where((eb) => eb.or([eb('user_id', '=', s.userId), eb('email', '=', s.email)]))
        .executeTakeFirst(),
    );
  },
};

export const identitiesProvider: PersonalDataProvider = {
  name: 'linked_accounts',
  description: 'Accounts at other providers linked to this one (social, enterprise, migrated)',
  covers: ['user_identities.user_id', 'user_identities.provider_user_id', 'user_identities.profile'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('user_identities')
      .selectAll()
      .where('user_id', '=', s.userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      provider: r.provider,
      provider_user_id: r.provider_user_id,
      connection: r.connection,
      is_social: toBool(r.is_social),
      profile: toJson(r.profile) ?? {},
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
    }));
  },
  async erase(tx, s) {
    return affected(
      await tx.deleteFrom('user_identities').where('user_id', '=', s.userId).executeTakeFirst(),
    );
  },
};

export const signInCodesProvider: PersonalDataProvider = {
  name: 'sign_in_codes',
  description:
    'One-time codes of browser sign-ins (SSO) sent back to an app (when, where to; never the code)',
  covers: ['auth_codes.user_id'],
  async export(ex, s) {
    const rows = await ex
      .selectFrom('auth_codes')
      .select(['method', 'redirect_uri', 'created_at', 'expires_at', 'consumed_at'])
      .where('user_id', '=', s.userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      method: r.method,
      redirect_uri: r.redirect_uri,
      created_at: iso(r.created_at),
      expires_at: iso(r.expires_at),
      consumed_at: iso(r.consumed_at),
    }));
  },
  async erase(tx, s) {
    return affected(await tx.deleteFrom('auth_codes').where('user_id', '=', s.userId).executeTakeFirst());
  },
};
