/**
 * The live tenant as an Auth0Source: users from a users export job (./export-job.ts), roles with their
 * permissions, organizations, their members with roles, and each role's users through the Management API
 * (./client.ts). Read-only: the only non-GET requests are the token and the export job's creation.
 *
 * Resuming: `exportState()` tells where the export stands ({jobId, file}); the runner keeps it in its
 * checkpoint stats and, on resume, hands it back with `resumeExport(state)` (or the `exportJobId` /
 * `exportFile` options) before calling users(), so the same file is read again and no new job is made.
 */
import { createHash } from 'node:crypto';
import { Auth0Client, type Auth0ClientEvent, type Auth0ClientOptions } from './client.js';
import { type ExportEvent, type ExportState, fetchUsersExport, readUsersExport } from './export-job.js';
import type {
  Auth0Member,
  Auth0Organization,
  Auth0Permission,
  Auth0Role,
  Auth0Source,
  Auth0User,
  SourceRecord,
} from './types.js';

export type LiveSourceEvent = Auth0ClientEvent | ExportEvent;

export interface LiveSourceOptions extends Omit<Auth0ClientOptions, 'onEvent'> {
  /** The data directory: the export is downloaded under `<dataDir>/migrate/`. */
  dataDir: string;
  /** Export only this connection's users (default: every user of the tenant). */
  connectionId?: string;
  /** Resume: poll this export job instead of creating one. */
  exportJobId?: string;
  /** Resume: read this complete download instead of exporting again. */
  exportFile?: string;
  /** Export-job polling: first interval (default 2 s, ×1.5 up to maxPollMs, default 30 s) and overall limit. */
  pollMs?: number;
  maxPollMs?: number;
  exportTimeoutMs?: number;
  /** Page size of the list calls (Auth0 allows at most 100). */
  pageSize?: number;
  /** Export-job state, retries and token refreshes, for the runner's progress display and log. */
  onEvent?: (e: LiveSourceEvent) => void;
}

export interface LiveAuth0Source extends Auth0Source {
  readonly client: Auth0Client;
  roles(): AsyncIterable<Auth0Role>;
  organizations(): AsyncIterable<Auth0Organization>;
  members(organizationId: string): AsyncIterable<Auth0Member>;
  roleUsers(roleId: string): AsyncIterable<{ user_id: string; email?: string }>;
  close(): Promise<void>;
  exportState(): ExportState;
  resumeExport(state: ExportState): void;
}

export function liveSource(opts: LiveSourceOptions): LiveAuth0Source {
  const client = new Auth0Client({ ...opts, onEvent: opts.onEvent });
  const state: ExportState = { jobId: opts.exportJobId, file: opts.exportFile };
  const take = Math.min(100, opts.pageSize ?? 100);
  const mgmt = client.mgmt;

  async function* users(): AsyncGenerator<SourceRecord<Auth0User>> {
    const file = await fetchUsersExport(client, state, {
      dataDir: opts.dataDir,
      connectionId: opts.connectionId,
      pollMs: opts.pollMs,
      maxPollMs: opts.maxPollMs,
      timeoutMs: opts.exportTimeoutMs,
      onEvent: opts.onEvent,
    });
    yield* readUsersExport(file);
  }

  function permissions(roleId: string): AsyncGenerator<Auth0Permission> {
    return client.offsetList(
      `/roles/${roleId}/permissions`,
      async (page, perPage) => {
        const p = await mgmt.roles.permissions.list(roleId, {
          page,
          per_page: perPage,
          include_totals: true,
        });
        return { items: (p.response.permissions ?? []) as Auth0Permission[], total: p.response.total };
      },
      take,
    );
  }

  async function* roles(): AsyncGenerator<Auth0Role> {
    const list = client.offsetList(
      '/roles',
      async (page, perPage) => {
        const p = await mgmt.roles.list({ page, per_page: perPage, include_totals: true });
        return { items: p.response.roles ?? [], total: p.response.total };
      },
      take,
    );
    for await (const r of list) {
      const perms: Auth0Permission[] = [];
      for await (const p of permissions(r.id!)) perms.push(p);
      yield {
        id: r.id!,
        name: r.name ?? r.id!,
        ...(r.description ? { description: r.description } : {}),
        permissions: perms,
      };
    }
  }

  function organizations(): AsyncGenerator<Auth0Organization> {
    return client.checkpointList(
      '/organizations',
      async (from, n) => {
        const p = await mgmt.organizations.list({ ...(from ? { from } : {}), take: n });
        return { items: (p.response.organizations ?? []) as Auth0Organization[], next: p.response.next };
      },
      take,
    );
  }

  function members(organizationId: string): AsyncGenerator<Auth0Member> {
    // `fields=roles` adds each member's directly assigned roles (scope read:organization_member_roles).
    return client.checkpointList(
      `/organizations/${organizationId}/members`,
      async (from, n) => {
        const p = await mgmt.organizations.members.list(organizationId, {
          ...(from ? { from } : {}),
          take: n,
          fields: 'user_id,email,name,picture,roles',
          include_fields: true,
        });
        return { items: (p.response.members ?? []) as Auth0Member[], next: p.response.next };
      },
      Math.min(take, 50),
    );
  }

  function roleUsers(roleId: string): AsyncGenerator<{ user_id: string; email?: string }> {
    return client.checkpointList(
      `/roles/${roleId}/users`,
      async (from, n) => {
        const p = await mgmt.roles.users.list(roleId, { ...(from ? { from } : {}), take: n });
        return {
          items: (p.response.users ?? []) as Array<{ user_id: string; email?: string }>,
          next: p.response.next,
        };
      },
      take,
    );
  }

  return {
    label: client.domain,
    client,
    async inputKey() {
      // The tenant (and connection filter), not the export: a resumed run finds its checkpoint by this key
      // before it knows which export file the checkpoint names.
      return createHash('sha256')
        .update(`auth0-live\n${client.domain}\n${opts.connectionId ?? ''}`)
        .digest('hex');
    },
    users,
    roles,
    organizations,
    members,
    roleUsers,
    exportState: () => ({ ...state }),
    resumeExport(s) {
      state.jobId = s.jobId;
      state.file = s.file;
    },
    close: () => client.close(),
  };
}
