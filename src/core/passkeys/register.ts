/**
 * Passkey registration for a signed-in user (WebAuthn §7.1): options asking for a discoverable credential
 * ("resident key") and user verification, then verification of the authenticator's attestation against the
 * challenge this server issued to this user. `security.passkey.registered` is emitted with the new row.
 */
import { randomUUID } from 'node:crypto';
import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { audit, emit, type RequestContext } from '../events/events.js';
import { type PasskeyCredential, passkeys } from '../store/repos/passkeys.js';
import type { User } from '../users/model.js';
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
import { checkPasskeyName, DEFAULT_NAME } from './manage.js';

const ACTION = 'passkey.register';

export async function beginRegistration(
  deps: PasskeyDeps,
  user: User,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const rp = relyingParty(deps);
  const existing = await passkeys.listForUser(deps.store.db, user.id);
  const displayName =
    user.displayName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || user.email);
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    // The user handle is the account id (a UUID: no personal data, WebAuthn §14.6.1), so a discoverable
    // sign-in names the account without an email.
    userID: new Uint8Array(Buffer.from(user.id, 'utf8')),
    userName: user.email,
    userDisplayName: displayName,
    challenge: newChallengeBytes(),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    // One credential per authenticator: the browser refuses to make a second on one that holds one of these.
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  await storeChallenge(deps, options.challenge, 'registration', user.id);
  return options;
}

/** Verifies the attestation and stores the credential. Every outcome is audited. */
export async function completeRegistration(
  deps: PasskeyDeps,
  user: User,
  input: { credential: unknown; name?: string | null | undefined },
  ctx: RequestContext,
): Promise<PasskeyCredential> {
  const uctx = { ...ctx, actorId: user.id, actorType: 'user' as const };
  const target = { type: 'user', id: user.id };
  const name = input.name == null ? DEFAULT_NAME : checkPasskeyName(input.name);
  try {
    const credential = credentialJSON(input.credential);
    const rp = relyingParty(deps);
    const { challenge } = await spendChallenge(
      deps,
      credential.response.clientDataJSON,
      'registration',
      user.id,
    );
    const result = await verifyRegistrationResponse({
      response: credential as unknown as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: true,
    }).catch((err: unknown) => {
      throw classify(err);
    });
    if (!result.verified) throw new CeremonyFailure('invalid');
    const info = result.registrationInfo;
    const now = deps.clock.now();
    const row = {
      id: randomUUID(),
      userId: user.id,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      signCount: info.credential.counter,
      transports: (info.credential.transports ?? []).map(String),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
      name,
      createdAt: now,
    };
    await deps.store
      .transaction(async (tx) => {
        if (await passkeys.findByCredentialId(tx, row.credentialId))
          throw new CeremonyFailure('duplicate_credential');
        await passkeys.insert(tx, row);
        await audit(
          tx,
          uctx,
          {
            action: ACTION,
            targetType: 'user',
            targetId: user.id,
            metadata: {
              method: 'passkey',
              passkey_id: row.id,
              aaguid: row.aaguid,
              device_type: row.deviceType,
            },
          },
          now,
        );
        await emit(
          tx,
          'security.passkey.registered',
          { type: 'user', id: user.id },
          { user_id: user.id, passkey_id: row.id, name: row.name },
          now,
        );
      })
      .catch((err: unknown) => {
        // Two parallel registrations of one credential: the unique index turns the loser away.
        if (/unique|duplicate key/i.test(String((err as Error)?.message)))
          throw new CeremonyFailure('duplicate_credential');
        throw err;
      });
    return { ...row, updatedAt: now, lastUsedAt: null };
  } catch (err) {
    if (!(err instanceof CeremonyFailure)) throw err;
    await auditFailure(deps, uctx, ACTION, err, target);
    throw clientError('registration', err);
  }
}
