import type { Deps } from '../deps.js';
import { SYSTEM_CONTEXT } from '../events/events.js';
import { users } from '../store/repos/users.js';
import { normalizeEmail } from './model.js';
import { createUser } from './service.js';

/** ADMIN_BOOTSTRAP_EMAIL/PASSWORD: creates the first platform admin once; never changes an existing user. */
export async function bootstrapAdmin(
  deps: Pick<Deps, 'config' | 'store' | 'clock' | 'hasher' | 'logger'>,
): Promise<'created' | 'exists' | 'skipped'> {
  const { adminBootstrapEmail: email, adminBootstrapPassword: password } = deps.config;
  if (!email || !password) return 'skipped';
  if (await users.findByEmail(deps.store.db, normalizeEmail(email))) return 'exists';
  try {
    const user = await createUser(
      deps,
      { email, password, isAdmin: true, emailVerified: true },
      SYSTEM_CONTEXT,
    );
    deps.logger.info({ user_id: user.id }, 'bootstrap admin created');
    return 'created';
  } catch (err) {
    if ((err as { code?: string }).code === 'CONFLICT_ERROR') return 'exists'; // another node won the race
    throw err;
  }
}
