/**
 * User administration: creating a user over the API (`POST /api/v1/users`, platform admins). The same
 * creation as `janua users create` (./service.ts `createUser`), behind the admin check the CLI does not need.
 */

import type { Deps } from '../deps.js';
import type { RequestContext } from '../events/events.js';
import { requireAdmin } from './admin-access.js';
import type { User } from './model.js';
import { type CreateUserInput, createUser } from './service.js';

export async function adminCreateUser(
  deps: Pick<Deps, 'config' | 'store' | 'clock' | 'hasher'>,
  input: Omit<CreateUserInput, 'passwordHash'>,
  ctx: RequestContext,
): Promise<User> {
  requireAdmin(ctx);
  return createUser(deps, input, ctx);
}
