/**
 * A user's passkeys: list, rename, remove (removal asks for the current password when the account has one, so
 * a stolen session alone cannot strip a factor), and the admin's view of anyone's (the CLI).
 */
import type { Deps } from '../deps.js';
import { notFound, validation } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { passwordCredentials } from '../store/repos/credentials.js';
import { type PasskeyCredential, passkeys } from '../store/repos/passkeys.js';
import { breaksTextRule } from '../text.js';
import { requireAdmin } from '../users/admin-access.js';
import type { User } from '../users/model.js';
import { findUserIn } from '../users/service.js';

export const DEFAULT_NAME = 'Passkey';
const MAX_NAME = 100;

export function checkPasskeyName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > MAX_NAME || breaksTextRule(name, 'single-line'))
    throw validation(`A passkey name is 1 to ${MAX_NAME} characters on one line`, { name: 'invalid' });
  return name;
}

/** The API's passkey object: never the public key's use for anything but display. */
export function presentPasskey(p: PasskeyCredential) {
  return {
    id: p.id,
    user_id: p.userId,
    credential_id: p.credentialId,
    name: p.name,
    aaguid: p.aaguid,
    sign_count: p.signCount,
    transports: p.transports,
    device_type: p.deviceType,
    backed_up: p.backedUp,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
    last_used_at: p.lastUsedAt?.toISOString() ?? null,
  };
}

export type PresentedPasskey = ReturnType<typeof presentPasskey>;

export function listPasskeys(deps: Pick<Deps, 'store'>, userId: string): Promise<PasskeyCredential[]> {
  return passkeys.listForUser(deps.store.db, userId);
}

export async function renamePasskey(
  deps: Pick<Deps, 'store' | 'clock'>,
  userId: string,
  id: string,
  rawName: string,
  ctx: RequestContext,
): Promise<PasskeyCredential> {
  const name = checkPasskeyName(rawName);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    if (!(await passkeys.rename(tx, userId, id, name, now))) throw notFound('Passkey not found');
    await audit(
      tx,
      ctx,
      { action: 'passkey.rename', targetType: 'user', targetId: userId, metadata: { passkey_id: id } },
      now,
    );
    const p = await passkeys.findForUser(tx, userId, id);
    if (!p) throw notFound('Passkey not found');
    return p;
  });
}

/**
 * Removes one of the user's passkeys. With `password` checking on (the user's own request), an account with a
 * password must give it; an account without one (passkey-only) proves itself by its session.
 */
export async function removePasskey(
  deps: Pick<Deps, 'store' | 'clock' | 'hasher'>,
  userId: string,
  id: string,
  proof: { password?: string | undefined } | 'admin',
  ctx: RequestContext,
): Promise<void> {
  if (proof !== 'admin') {
    const hash = await passwordCredentials.getHash(deps.store.db, userId);
    if (hash) {
      const ok = proof.password ? await deps.hasher.verify(proof.password, hash) : false;
      if (!ok) throw validation('The current password is not correct', { password: 'incorrect' });
    }
  }
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await passkeys.remove(tx, userId, id))) throw notFound('Passkey not found');
    await audit(
      tx,
      ctx,
      {
        action: 'passkey.remove',
        targetType: 'user',
        targetId: userId,
        metadata: { passkey_id: id, by: proof === 'admin' ? 'admin' : 'user' },
      },
      now,
    );
    await emit(
      tx,
      'security.passkey.removed',
      { type: 'user', id: userId },
      { user_id: userId, passkey_id: id },
      now,
    );
  });
}

/** An administrator's view of anyone's passkeys (`janua users passkeys list`). */
export async function adminListPasskeys(
  deps: Pick<Deps, 'store'>,
  idOrEmail: string,
  ctx: RequestContext,
): Promise<{ user: User; passkeys: PasskeyCredential[] }> {
  requireAdmin(ctx);
  const user = await findUserIn(deps.store.db, idOrEmail);
  return { user, passkeys: await passkeys.listForUser(deps.store.db, user.id) };
}

/**
 * An administrator removes one passkey of a user, or all of them (a lost or compromised device): no password
 * is asked, the removal is audited as the administrator's and emits `security.passkey.removed` for each.
 */
export async function adminRemovePasskeys(
  deps: Pick<Deps, 'store' | 'clock' | 'hasher'>,
  idOrEmail: string,
  id: string | undefined,
  ctx: RequestContext,
): Promise<{ user: User; removed: string[] }> {
  requireAdmin(ctx);
  const user = await findUserIn(deps.store.db, idOrEmail);
  const own = await passkeys.listForUser(deps.store.db, user.id);
  const ids = id === undefined ? own.map((p) => p.id) : [id];
  if (id !== undefined && !own.some((p) => p.id === id)) throw notFound('Passkey not found');
  for (const pid of ids) await removePasskey(deps, user.id, pid, 'admin', ctx);
  return { user, removed: ids };
}
