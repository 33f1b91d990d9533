/**
 * Sessions with their users by id, for concurrent requests answered by one query per batch (see
 * Coalescer): the session check of every authenticated request, and the answer of every refresh. Each
 * batch is sent after its requests arrived, so it sees every revocation committed before them. Two
 * batches in flight at once, one per SQLite read connection.
 */
import { perOwner } from '../per-owner.js';
import { Coalescer } from '../store/coalesce.js';
import { type Session, sessions } from '../store/repos/sessions.js';
import type { Store } from '../store/store.js';
import type { User } from '../users/model.js';

export const sessionsWithUser = perOwner(
  (store: Pick<Store, 'db'>) =>
    new Coalescer<string, { session: Session; user: User } | undefined>(
      async (ids) => {
        const found = await sessions.findManyWithUser(store.db, ids);
        return ids.map((id) => found.get(id));
      },
      64,
      2,
    ),
);
