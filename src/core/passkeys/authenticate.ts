/**
 * Passkey sign-in (WebAuthn §7.2), discoverable ("usernameless": no email, the authenticator names the
 * account by its user handle) or email-first (allowCredentials lists that account's passkeys). It answers the
 * normal token response. A passkey made with user verification is already two factors (possession + PIN or
 * biometric), so it opens the session directly and never asks for a TOTP step.
 */
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import { type SignedIn, signInSession, tokenPair } from '../auth/service.js';
import { randomToken } from '../crypto/secrets.js';
import type { RequestContext } from '../events/events.js';
import { passkeys } from '../store/repos/passkeys.js';
import { users } from '../store/repos/users.js';
import { normalizeEmail } from '../users/model.js';
import {
  auditFailure,
  CeremonyFailure,
  CHALLENGE_TTL_MS,
  classify,
  clientError,
  credentialJSON,
  newChallengeBytes,
  type PasskeyDeps,
  relyingParty,
  spendChallenge,
  storeChallenge,
} from './ceremony.js';

const ACTION = 'auth.signin';

/**
 * Options for a sign-in. With an email, allowCredentials lists that account's passkeys; an address without
 * an account (or without passkeys) gets one decoy id derived from the address under a pepper, so the answer
 * has the same shape and stays the same on every request — it tells nobody whether the account exists.
 */
export async function beginAuthentication(
  deps: PasskeyDeps,
  input: { email?: string | null | undefined },
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const rp = relyingParty(deps);
  let userId: string | null = null;
  let allow: Array<{ id: string; transports?: string[] }> | undefined;
  if (input.email) {
    const email = normalizeEmail(input.email);
    const user = await users.findByEmail(deps.store.db, email);
    const own = user && user.status !== 'deleted' ? await passkeys.listForUser(deps.store.db, user.id) : [];
    if (user && own.length > 0) {
      userId = user.id;
      allow = own.map((p) => ({ id: p.credentialId, transports: p.transports }));
    } else {
      const decoy = (await deps.peppers.hash('passkey-decoy', email)).slice(0, 43);
      allow = [{ id: decoy, transports: ['internal', 'hybrid'] }];
    }
  }
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    challenge: newChallengeBytes(),
    timeout: CHALLENGE_TTL_MS,
    userVerification: 'required',
    ...(allow ? { allowCredentials: allow as Array<{ id: string }> } : {}),
  });
  await storeChallenge(deps, options.challenge, 'authentication', userId);
  return options;
}

/** Verifies an assertion and opens a session. Every outcome is audited; a refusal changes nothing else. */
export async function completeAuthentication(
  deps: PasskeyDeps,
  input: { credential: unknown },
  ctx: RequestContext,
): Promise<SignedIn> {
  let target: { type: string; id: string } | null = null;
  let passkeyId: string | undefined;
  try {
    const credential = credentialJSON(input.credential);
    const rp = relyingParty(deps);
    const { challenge, stored } = await spendChallenge(
      deps,
      credential.response.clientDataJSON,
      'authentication',
      null,
    );
    const found = await passkeys.findByCredentialId(deps.store.db, credential.id);
    if (!found) throw new CeremonyFailure('unknown_credential');
    target = { type: 'user', id: found.userId };
    passkeyId = found.id;
    // An email-first challenge was issued for one account: another account's passkey does not answer it.
    if (stored.userId !== null && stored.userId !== found.userId)
      throw new CeremonyFailure('credential_not_allowed');
    const handle = credential.response['userHandle'];
    if (typeof handle === 'string' && handle !== '') {
      const named = Buffer.from(handle, 'base64url').toString('utf8');
      if (named !== found.userId) throw new CeremonyFailure('user_handle');
    }
    const result = await verifyAuthenticationResponse({
      response: credential as unknown as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      expectedType: 'webauthn.get',
      requireUserVerification: true,
      // The counter is checked below (to audit a regression as such): the library is given 0, which skips its
      // own check but keeps every other one (signature, RP id hash, flags, origin, challenge).
      credential: {
        id: found.credentialId,
        publicKey: new Uint8Array(Buffer.from(found.publicKey, 'base64url')),
        counter: 0,
        transports: found.transports as never,
      },
    }).catch((err: unknown) => {
      throw classify(err);
    });
    if (!result.verified) throw new CeremonyFailure('signature');
    const next = result.authenticationInfo.newCounter;
    // WebAuthn §7.2 step 21 / §6.1.1: a counter that does not grow (when either side is non-zero) means a
    // cloned authenticator or a replayed signature.
    if ((next > 0 || found.signCount > 0) && next <= found.signCount)
      throw new CeremonyFailure('counter_regression', `stored ${found.signCount}, presented ${next}`);

    const user = await users.findById(deps.store.db, found.userId);
    if (user?.status !== 'active') throw new CeremonyFailure('account_inactive');
    if (deps.config.requireEmailVerification && !user.emailVerified)
      throw new CeremonyFailure('account_inactive');
    const now = deps.clock.now();
    const refresh = randomToken();
    const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
    const session = await deps.store.transaction(async (tx) => {
      // Compare-and-set on the counter: a parallel use of the same signature finds it moved and is refused.
      if (
        !(await passkeys.recordUse(
          tx,
          found.id,
          found.signCount,
          next,
          result.authenticationInfo.credentialBackedUp,
          now,
        ))
      )
        throw new CeremonyFailure('counter_regression', 'counter changed by a parallel sign-in');
      return signInSession(deps, tx, user, refresh, uctx, now, {
        method: 'passkey',
        passkey_id: found.id,
        user_verified: result.authenticationInfo.userVerified,
      });
    });
    return {
      user: { ...user, lastSignInAt: now },
      session,
      tokens: await tokenPair(deps, user, session.id, refresh),
    };
  } catch (err) {
    if (!(err instanceof CeremonyFailure)) throw err;
    await auditFailure(deps, ctx, ACTION, err, target, passkeyId ? { passkey_id: passkeyId } : {});
    throw clientError('authentication', err);
  }
}
