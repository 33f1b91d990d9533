/**
 * Sources made of files: an Auth0 users export (`--users FILE`), and — when tenant credentials are given too —
 * the live tenant for what files do not hold (roles, organizations, members). The password-hash file is not a
 * source of records of its own: the runner reads it in its `passwords` phase.
 */
import { fileInputKey, readUsersFile } from './files.js';
import type { Auth0Source, Auth0User, SourceRecord } from './types.js';

export function fileSource(usersFile: string, extraInputs: string[], live?: Auth0Source): Auth0Source {
  const source: Auth0Source = {
    label: live ? `${usersFile} + ${live.label}` : usersFile,
    async inputKey() {
      const files = await fileInputKey([usersFile, ...extraInputs]);
      return live ? `${files}|${await live.inputKey()}` : files;
    },
    users: () => readUsersFile(usersFile) as AsyncIterable<SourceRecord<Auth0User>>,
  };
  if (!live) return source;
  return {
    ...source,
    ...(live.roles ? { roles: () => live.roles!() } : {}),
    ...(live.organizations ? { organizations: () => live.organizations!() } : {}),
    ...(live.members ? { members: (id: string) => live.members!(id) } : {}),
    ...(live.roleUsers ? { roleUsers: (id: string) => live.roleUsers!(id) } : {}),
    ...(live.close ? { close: () => live.close!() } : {}),
  };
}
