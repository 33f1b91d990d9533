/**
 * Email change: the signed-in user names the new address and confirms with their password; a link goes to the
 * new address (proving it is theirs) and a notice to the old one (so a hijacker's change does not go unseen).
 * Nothing changes until the link is followed. Whether the new address is taken is not told at request time
 * (that would let anyone with an account probe addresses); confirming a taken one answers 409.
 */
import type { Deps } from '../../deps.js';
import { conflict, JanuaError, tokenError, validation } from '../../errors.js';
import { audit, emit, type RequestContext } from '../../events/events.js';
import { passwordCredentials } from '../../store/repos/credentials.js';
import { oneTimeTokens } from '../../store/repos/one-time-tokens.js';
import { users } from '../../store/repos/users.js';
import type { User } from '../../users/model.js';
import { checkEmail } from '../service.js';
import { checkRedirectUrl, linkWithToken, underBase } from './links.js';
import { sendFlowMail } from './mail.js';
import { consumeToken, issueToken, lifetimeText, sentInLastHour } from './tokens.js';

type ChangeDeps = Pick<Deps, 'store' | 'clock' | 'config' | 'hasher'>;

export const EMAIL_CHANGE_CONFIRM_PATH = '/api/v1/auth/email/change/confirm';

export async function requestEmailChange(
  deps: ChangeDeps,
  user: User,
  input: { newEmail: string; password: string; redirectUrl?: string | null | undefined },
  ctx: RequestContext,
): Promise<void> {
  const hash = await passwordCredentials.getHash(deps.store.db, user.id);
  const ok = hash
    ? await deps.hasher.verify(input.password, hash)
    : await deps.hasher.verifyDummy(input.password);
  if (!ok) throw validation('The password is not correct', { password: 'incorrect' });
  const newEmail = checkEmail(input.newEmail);
  if (newEmail === user.email)
    throw validation('The new address is the current one', { new_email: 'unchanged' });
  const redirectUrl = input.redirectUrl ? checkRedirectUrl(deps.config, input.redirectUrl) : null;
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if ((await sentInLastHour(tx, user.id, 'email_change', now)) >= deps.config.flowMailsPerHour)
      throw new JanuaError('RATE_LIMIT_ERROR', 'Too many email change requests; try again later', {
        retryAfter: 3600,
      });
    const { token } = await issueToken(
      tx,
      { userId: user.id, purpose: 'email_change', email: newEmail, redirectUrl },
      now,
    );
    await sendFlowMail(tx, deps, {
      to: newEmail,
      template: 'email_change_confirm',
      link: linkWithToken(underBase(deps.config, EMAIL_CHANGE_CONFIRM_PATH), token),
      expiresIn: lifetimeText('email_change'),
      userId: user.id,
    });
    await sendFlowMail(tx, deps, {
      to: user.email,
      template: 'email_change_notice',
      userId: user.id,
      vars: { new_email: newEmail },
    });
    await audit(
      tx,
      ctx,
      { action: 'user.email.change_requested', targetType: 'user', targetId: user.id },
      now,
    );
  });
}

/** Spends the link and moves the account to the new (now verified) address. */
export async function confirmEmailChange(
  deps: Pick<Deps, 'store' | 'clock'>,
  token: string,
  ctx: RequestContext,
): Promise<{ user: User; redirectUrl: string | null }> {
  const now = deps.clock.now();
  return deps.store
    .transaction(async (tx) => {
      const t = await consumeToken(tx, 'email_change', token, now);
      const user = await users.findById(tx, t.userId);
      if (user?.status !== 'active') throw tokenError('Invalid or expired link');
      // Taken meanwhile: the transaction rolls back, so the link is not spent by this refusal.
      if (await users.findByEmail(tx, t.email)) throw conflict('An account with this email already exists');
      const updated = (await users.update(tx, user.id, { email: t.email, emailVerified: true }, now)) ?? user;
      // Links mailed to the old address (verification, reset, magic link) must not act on the new one.
      await oneTimeTokens.spendForUser(tx, user.id, 'superseded', now);
      const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
      await audit(
        tx,
        uctx,
        {
          action: 'user.email.changed',
          targetType: 'user',
          targetId: user.id,
          metadata: { from: user.email },
        },
        now,
      );
      await emit(
        tx,
        'user.updated',
        { type: 'user', id: user.id },
        { user_id: user.id, fields: ['email'] },
        now,
      );
      return { user: updated, redirectUrl: t.redirectUrl };
    })
    .catch((err: unknown) => {
      if (/unique|duplicate key/i.test(String((err as Error)?.message ?? '')))
        throw conflict('An account with this email already exists');
      throw err;
    });
}
