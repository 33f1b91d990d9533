/**
 * The short-lived rows of a browser sign-in through SSO (migration 0012): the AuthnRequests we sent, the
 * replay cache of assertion ids, and the one-time codes apps exchange for tokens. Each is spent by one
 * conditional statement, so of two parallel uses on any number of nodes exactly one wins.
 */
import type { Selectable } from 'kysely';
import { json, toDate, toJson } from '../codec.js';
import type { AuthCodesTable, SsoRequestsTable } from '../schema-sso.js';
import type { Executor } from '../store.js';

export interface SsoRequest {
  id: string;
  connectionId: string;
  relayState: string;
  browserHash: string;
  redirectUri: string | null;
  appState: string | null;
  createdAt: Date;
  expiresAt: Date;
}

function decodeRequest(r: Selectable<SsoRequestsTable>): SsoRequest {
  return {
    id: r.id,
    connectionId: r.connection_id,
    relayState: r.relay_state,
    browserHash: r.browser_hash,
    redirectUri: r.redirect_uri,
    appState: r.app_state,
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
  };
}

export const ssoRequests = {
  async insert(ex: Executor, r: SsoRequest): Promise<void> {
    await ex
      .insertInto('sso_requests')
      .values({
        id: r.id,
        connection_id: r.connectionId,
        relay_state: r.relayState,
        browser_hash: r.browserHash,
        redirect_uri: r.redirectUri,
        app_state: r.appState,
        created_at: r.createdAt,
        expires_at: r.expiresAt,
        consumed_at: null,
      })
      .execute();
  },

  /** The request a RelayState names (the shared ACS finds the connection by it). */
  async findByRelayState(ex: Executor, relayState: string): Promise<SsoRequest | undefined> {
    const r = await ex
      .selectFrom('sso_requests')
      .selectAll()
      .where('relay_state', '=', relayState)
      .executeTakeFirst();
    return r && decodeRequest(r);
  },

  /** A request as stored, spent or not (to explain a refusal). */
  async find(ex: Executor, id: string): Promise<(SsoRequest & { consumed: boolean }) | undefined> {
    const r = await ex.selectFrom('sso_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { ...decodeRequest(r), consumed: r.consumed_at !== null };
  },

  /**
   * Spends a live request of this connection made by this browser: one conditional UPDATE, so a response
   * answers its request once. Unknown, spent, expired, another connection's or another browser's → undefined.
   */
  async consume(
    ex: Executor,
    id: string,
    connectionId: string,
    browserHash: string,
    now: Date,
  ): Promise<SsoRequest | undefined> {
    const r = await ex
      .updateTable('sso_requests')
      .set({ consumed_at: now })
      .where('id', '=', id)
      .where('connection_id', '=', connectionId)
      .where('browser_hash', '=', browserHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return r && decodeRequest(r);
  },
};

export const samlAssertionIds = {
  /** Records an assertion id; false when it was already seen (a replay), on any node. */
  async remember(ex: Executor, issuer: string, assertionId: string, expiresAt: Date): Promise<boolean> {
    const rows = await ex
      .insertInto('saml_assertion_ids')
      .values({ issuer, assertion_id: assertionId, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['issuer', 'assertion_id']).doNothing())
      .returning('assertion_id')
      .execute();
    return rows.length === 1;
  },
};

export interface AuthCode {
  id: string;
  userId: string;
  redirectUri: string;
  method: string;
  details: Record<string, unknown>;
  createdAt: Date;
  expiresAt: Date;
}

function decodeCode(r: Selectable<AuthCodesTable>): AuthCode {
  return {
    id: r.id,
    userId: r.user_id,
    redirectUri: r.redirect_uri,
    method: r.method,
    details: toJson<Record<string, unknown>>(r.details),
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
  };
}

export const authCodes = {
  async insert(ex: Executor, c: AuthCode & { codeHash: string }): Promise<void> {
    await ex
      .insertInto('auth_codes')
      .values({
        id: c.id,
        code_hash: c.codeHash,
        user_id: c.userId,
        redirect_uri: c.redirectUri,
        method: c.method,
        details: json(c.details),
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        consumed_at: null,
      })
      .execute();
  },

  /** Spends a live code (one conditional UPDATE: of two parallel exchanges one gets it). */
  async consume(ex: Executor, codeHash: string, now: Date): Promise<AuthCode | undefined> {
    const r = await ex
      .updateTable('auth_codes')
      .set({ consumed_at: now })
      .where('code_hash', '=', codeHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return r && decodeCode(r);
  },
};
