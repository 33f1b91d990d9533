/**
 * SSO connections: an organization's SAML IdP. Managed by members whose role holds `sso:read` / `sso:write`
 * (owners and admins) and by platform admins; anyone else is told the connection does not exist. The IdP side
 * comes from metadata (by URL — fetched now and by `sso.metadata-refresh` — or pasted XML) or from three
 * fields (entity id, SSO URL, certificate). The SP side is a fresh key pair per connection (rotatable).
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { forbidden, isJanuaError, notFound, validation } from '../errors.js';
import { audit, emit, type RequestContext } from '../events/events.js';
import { type Actor, requireObjectPermission, requireOrgPermission, UUID_PATTERN } from '../rbac/access.js';
import { isBuiltInRole } from '../rbac/permissions.js';
import { organizations, orgRoles } from '../store/repos/organizations.js';
import {
  type AttributeMapping,
  type ConnectionPatch,
  type SsoConnection,
  ssoConnections,
} from '../store/repos/sso-connections.js';
import type { Executor } from '../store/store.js';
import { checkMetadataUrl, fetchMetadata, fromMetadata, readMetadata } from './metadata.js';
import { PROVIDER_DEFAULTS } from './providers.js';
import { buildSpMetadata, generateSpKeyPair } from './saml-api.js';
import { normalizeCertificate, SP_KEY_PURPOSE, spConfigFor } from './sp.js';

export type ConnectionDeps = Pick<Deps, 'store' | 'clock' | 'config' | 'box'>;
export type SsoPermission = 'sso:read' | 'sso:write';

export const connectionNotFound = () => notFound('SSO connection not found');

export const PROVIDERS = [
  'okta',
  'azure_ad',
  'google',
  'adfs',
  'keycloak',
  'onelogin',
  'ping',
  'saml',
] as const;

/** What an admin gives to create or change a connection (API and CLI spell it the same way). */
export interface ConnectionInput {
  name?: string | undefined;
  provider?: string | undefined;
  enabled?: boolean | undefined;
  metadataUrl?: string | undefined;
  metadataXml?: string | undefined;
  idpEntityId?: string | undefined;
  idpSsoUrl?: string | undefined;
  idpCertificates?: string[] | undefined;
  idpWantsSignedRequests?: boolean | undefined;
  attributeMapping?: AttributeMapping | undefined;
  groupRoles?: Record<string, string> | undefined;
  defaultRole?: string | undefined;
  jitProvisioning?: boolean | undefined;
  allowIdpInitiated?: boolean | undefined;
}

/** May `actor` do `permission` on the connections of `orgId`? 404 for non-members, 403 for a lacking role. */
export async function requireSsoScope(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgId: string,
  permission: SsoPermission,
): Promise<string> {
  return (await requireOrgPermission(deps, actor, orgId, permission)).organization.id;
}

/** The connection `id` if `actor` may do `permission` on it; 404 for unknown ids and ones they may not see. */
export async function loadConnection(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  id: string,
  permission: SsoPermission,
  ex: Executor = deps.store.db,
): Promise<SsoConnection> {
  const c = UUID_PATTERN.test(id) ? await ssoConnections.findById(ex, id.toLowerCase()) : undefined;
  if (!c) throw connectionNotFound();
  if (actor.isAdmin) return c;
  await requireObjectPermission(deps, actor, c.organizationId, permission, connectionNotFound);
  return c;
}

const text = (v: string | undefined, field: string, max: number): string | undefined => {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!t || t.length > max) throw validation(`${field} must be 1–${max} characters`, { [field]: 'invalid' });
  return t;
};

const httpUrl = (v: string | undefined, field: string): string | undefined => {
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw validation(`${field} must be an absolute https:// URL`, { [field]: 'invalid' });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw validation(`${field} must be an absolute https:// URL`, { [field]: 'invalid' });
  return u.toString();
};

/** Roles a connection may give: built-in or custom roles of the organization, never `owner`. */
async function checkRoles(ex: Executor, orgId: string, input: ConnectionInput): Promise<void> {
  const roles = [
    ...(input.defaultRole !== undefined ? [['default_role', input.defaultRole] as const] : []),
    ...Object.entries(input.groupRoles ?? {}).map(([g, r]) => [`group_roles.${g}`, r] as const),
  ];
  for (const [field, role] of roles) {
    if (role === 'owner')
      throw forbidden(`${field}: SSO never grants the owner role; make owners in the organization itself`);
    if (!isBuiltInRole(role) && !(await orgRoles.findByName(ex, orgId, role)))
      throw validation(`${field}: unknown role "${role}"`, { [field]: 'unknown role' });
  }
  const groups = Object.keys(input.groupRoles ?? {});
  if (groups.length > 200 || groups.some((g) => !g || g.length > 256))
    throw validation('group_roles: at most 200 groups of 1–256 characters', { group_roles: 'invalid' });
}

/** The IdP settings an input names (fetching metadata by URL), or undefined when it names none. */
async function idpSide(deps: ConnectionDeps, input: ConnectionInput): Promise<ConnectionPatch | undefined> {
  const sources = [input.metadataUrl, input.metadataXml, input.idpSsoUrl ?? input.idpEntityId].filter(
    (v) => v !== undefined,
  );
  if (sources.length > 1)
    throw validation(
      'Give one of saml_metadata_url, saml_metadata_xml, or saml_sso_url + saml_entity_id + saml_certificate',
      {
        saml_metadata_url: 'conflict',
      },
    );
  if (input.metadataUrl !== undefined) {
    const url = checkMetadataUrl(deps.config, input.metadataUrl);
    let xml: string;
    try {
      xml = await fetchMetadata(deps.config, url);
    } catch (err) {
      throw validation(`saml_metadata_url: ${err instanceof Error ? err.message : String(err)}`, {
        saml_metadata_url: 'unreachable',
      });
    }
    const m = readMetadata(deps.config, xml, 'saml_metadata_url');
    return {
      ...fromMetadata(m),
      metadataUrl: url,
      metadataXml: xml,
      metadataRefreshedAt: deps.clock.now(),
      metadataError: null,
    };
  }
  if (input.metadataXml !== undefined) {
    const m = readMetadata(deps.config, input.metadataXml, 'saml_metadata_xml');
    return { ...fromMetadata(m), metadataUrl: null, metadataXml: input.metadataXml, metadataError: null };
  }
  if (
    input.idpSsoUrl !== undefined ||
    input.idpEntityId !== undefined ||
    input.idpCertificates !== undefined
  ) {
    const entity = text(input.idpEntityId, 'saml_entity_id', 1024);
    const sso = httpUrl(input.idpSsoUrl, 'saml_sso_url');
    const certs = input.idpCertificates?.map((c) => normalizeCertificate(c));
    if (!entity || !sso || !certs?.length)
      throw validation(
        'saml_entity_id, saml_sso_url and saml_certificate are all required without metadata',
        {
          saml_sso_url: 'required',
        },
      );
    if (certs.length > 5) throw validation('at most 5 IdP certificates', { saml_certificate: 'too many' });
    return {
      idpEntityId: entity,
      idpSsoUrl: sso,
      idpCertificates: certs,
      idpWantsSignedRequests: input.idpWantsSignedRequests ?? false,
      metadataUrl: null,
      metadataXml: null,
      metadataError: null,
    };
  }
  return undefined;
}

function settings(input: ConnectionInput): ConnectionPatch {
  const p: ConnectionPatch = {};
  const name = text(input.name, 'name', 200);
  if (name !== undefined) p.name = name;
  if (input.provider !== undefined) {
    if (!(PROVIDERS as readonly string[]).includes(input.provider))
      throw validation(`provider must be one of ${PROVIDERS.join(', ')}`, { provider: 'invalid' });
    p.provider = input.provider;
  }
  if (input.enabled !== undefined) p.enabled = input.enabled;
  if (input.attributeMapping !== undefined) {
    for (const [k, v] of Object.entries(input.attributeMapping))
      if (
        !['email', 'first_name', 'last_name', 'groups'].includes(k) ||
        typeof v !== 'string' ||
        !v ||
        v.length > 512
      )
        throw validation(`attribute_mapping.${k}: not a mappable field or not an attribute name`, {
          attribute_mapping: 'invalid',
        });
    p.attributeMapping = input.attributeMapping;
  }
  if (input.groupRoles !== undefined) p.groupRoles = input.groupRoles;
  if (input.defaultRole !== undefined) p.defaultRole = input.defaultRole;
  if (input.jitProvisioning !== undefined) p.jitProvisioning = input.jitProvisioning;
  if (input.allowIdpInitiated !== undefined) p.allowIdpInitiated = input.allowIdpInitiated;
  if (input.idpWantsSignedRequests !== undefined) p.idpWantsSignedRequests = input.idpWantsSignedRequests;
  return p;
}

/** A fresh SP key pair, sealed: what a new connection (or a key rotation) stores. */
async function newSpKey(deps: ConnectionDeps, orgSlugOrId: string) {
  const pair = await generateSpKeyPair(`Janua SP ${orgSlugOrId}`.slice(0, 64));
  return { spKeyBox: deps.box.seal(SP_KEY_PURPOSE, pair.privateKeyPem), spCertificate: pair.certificatePem };
}

async function record(
  tx: Executor,
  ctx: RequestContext,
  now: Date,
  c: SsoConnection,
  action: string,
  event: 'sso.connection.created' | 'sso.connection.updated' | 'sso.connection.deleted',
  data: Record<string, unknown> = {},
): Promise<void> {
  const payload = { connection_id: c.id, organization_id: c.organizationId, ...data };
  await audit(tx, ctx, { action, targetType: 'sso_connection', targetId: c.id, metadata: payload }, now);
  await emit(tx, event, { type: 'sso_connection', id: c.id }, payload, now);
}

export async function createConnection(
  deps: ConnectionDeps,
  actor: Actor,
  orgRef: string,
  input: ConnectionInput,
  ctx: RequestContext,
): Promise<SsoConnection> {
  const orgId = await requireSsoScope(deps, actor, orgRef, 'sso:write');
  const idp = await idpSide(deps, input);
  if (!idp)
    throw validation(
      'Give saml_metadata_url, saml_metadata_xml, or saml_sso_url + saml_entity_id + saml_certificate',
      {
        saml_metadata_url: 'required',
      },
    );
  const s = settings(input);
  await checkRoles(deps.store.db, orgId, input);
  const key = await newSpKey(deps, orgId);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const c = await ssoConnections.insert(
      tx,
      {
        id: randomUUID(),
        organizationId: orgId,
        name: s.name ?? s.provider ?? 'SAML',
        provider: s.provider ?? 'saml',
        enabled: s.enabled ?? true,
        idpEntityId: idp.idpEntityId as string,
        idpSsoUrl: idp.idpSsoUrl as string,
        idpCertificates: idp.idpCertificates as string[],
        idpWantsSignedRequests: s.idpWantsSignedRequests ?? (idp.idpWantsSignedRequests as boolean),
        metadataUrl: idp.metadataUrl ?? null,
        metadataXml: idp.metadataXml ?? null,
        metadataRefreshedAt: idp.metadataRefreshedAt ?? null,
        metadataError: null,
        ...key,
        spPreviousKeyBox: null,
        spPreviousCertificate: null,
        spKeyRotatedAt: null,
        attributeMapping: s.attributeMapping ?? PROVIDER_DEFAULTS[s.provider ?? 'saml']?.mapping ?? {},
        groupRoles: s.groupRoles ?? {},
        defaultRole: s.defaultRole ?? 'member',
        jitProvisioning: s.jitProvisioning ?? true,
        allowIdpInitiated: s.allowIdpInitiated ?? false,
      },
      now,
    );
    await record(tx, ctx, now, c, 'sso.connection.create', 'sso.connection.created', {
      provider: c.provider,
    });
    return c;
  });
}

export async function updateConnection(
  deps: ConnectionDeps,
  actor: Actor,
  id: string,
  input: ConnectionInput,
  ctx: RequestContext,
): Promise<SsoConnection> {
  const c = await loadConnection(deps, actor, id, 'sso:write');
  const patch = { ...settings(input), ...((await idpSide(deps, input)) ?? {}) };
  await checkRoles(deps.store.db, c.organizationId, input);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const updated = await ssoConnections.update(tx, c.id, patch, now);
    if (!updated) throw connectionNotFound();
    await record(tx, ctx, now, updated, 'sso.connection.update', 'sso.connection.updated', {
      fields: Object.keys(patch).sort(),
    });
    return updated;
  });
}

/**
 * A new SP key pair. The previous one keeps decrypting (and stays in our metadata) until the next rotation,
 * so assertions encrypted to it while the IdP catches up still open.
 */
export async function rotateSpKey(
  deps: ConnectionDeps,
  actor: Actor,
  id: string,
  ctx: RequestContext,
): Promise<SsoConnection> {
  const c = await loadConnection(deps, actor, id, 'sso:write');
  const key = await newSpKey(deps, c.organizationId);
  const now = deps.clock.now();
  return deps.store.transaction(async (tx) => {
    const updated = await ssoConnections.update(
      tx,
      c.id,
      { ...key, spPreviousKeyBox: c.spKeyBox, spPreviousCertificate: c.spCertificate, spKeyRotatedAt: now },
      now,
    );
    if (!updated) throw connectionNotFound();
    await record(tx, ctx, now, updated, 'sso.connection.rotate_key', 'sso.connection.updated', {
      reason: 'sp_key_rotated',
    });
    return updated;
  });
}

export async function deleteConnection(
  deps: ConnectionDeps,
  actor: Actor,
  id: string,
  ctx: RequestContext,
): Promise<void> {
  const c = await loadConnection(deps, actor, id, 'sso:write');
  const now = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    if (!(await ssoConnections.delete(tx, c.id))) throw connectionNotFound();
    await record(tx, ctx, now, c, 'sso.connection.delete', 'sso.connection.deleted');
  });
}

/** Connections the actor may read: one organization's, or (platform admins) every one. */
export async function listConnections(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  q: { organizationId?: string | undefined; limit: number; offset: number },
): Promise<{ items: SsoConnection[]; total: number }> {
  if (q.organizationId) {
    const orgId = await requireSsoScope(deps, actor, q.organizationId, 'sso:read');
    return ssoConnections.list(deps.store.db, { organizationIds: [orgId], limit: q.limit, offset: q.offset });
  }
  if (!actor.isAdmin) throw validation('organization_id is required', { organization_id: 'required' });
  return ssoConnections.list(deps.store.db, { limit: q.limit, offset: q.offset });
}

/** The organization's current connection (the SDK addresses connections by organization id): its newest. */
export async function connectionOfOrg(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  orgId: string,
  permission: SsoPermission,
): Promise<SsoConnection> {
  const id = await requireSsoScope(deps, actor, orgId, permission);
  const [c] = await ssoConnections.listByOrg(deps.store.db, id);
  if (!c) throw connectionNotFound();
  return c;
}

/** The connection whose SP metadata `id` asks for (public): a connection id, or an organization's newest. */
export async function connectionForMetadata(deps: Pick<Deps, 'store'>, id: string): Promise<SsoConnection> {
  const key = id.toLowerCase();
  if (!UUID_PATTERN.test(key)) throw connectionNotFound();
  const c =
    (await ssoConnections.findById(deps.store.db, key)) ??
    (await ssoConnections.listByOrg(deps.store.db, key))[0];
  if (!c) throw connectionNotFound();
  return c;
}

/** A connection by its id, or by its organization (id or slug): its newest connection. For the CLI. */
export async function findConnection(
  deps: Pick<Deps, 'store'>,
  actor: Actor,
  ref: string,
  permission: SsoPermission,
): Promise<SsoConnection> {
  try {
    return await loadConnection(deps, actor, ref, permission);
  } catch (err) {
    if (!isJanuaError(err) || err.code !== 'NOT_FOUND_ERROR') throw err;
    const org = UUID_PATTERN.test(ref)
      ? await organizations.findById(deps.store.db, ref.toLowerCase())
      : await organizations.findBySlug(deps.store.db, ref.toLowerCase());
    if (!org) throw err;
    return connectionOfOrg(deps, actor, org.id, permission);
  }
}

/** The SP metadata XML of a connection (the route and `janua sso metadata` share it). */
export function spMetadataOf(deps: Pick<Deps, 'config' | 'box'>, c: SsoConnection): string {
  return buildSpMetadata(spConfigFor(deps.config, deps.box, c));
}
