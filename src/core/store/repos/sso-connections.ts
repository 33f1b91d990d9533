/**
 * SSO connections and the email domains organizations claim (migration 0012). The SP private keys are stored
 * sealed: this module moves the sealed text and never opens it (core/sso does, with the SecretBox).
 */
import type { Insertable, Selectable, Updateable } from 'kysely';
import { json, toBool, toDate, toDateOrNull, toJson } from '../codec.js';
import type { SsoConnectionsTable, SsoDomainsTable } from '../schema-sso.js';
import type { Executor } from '../store.js';

/** Which SAML attribute carries each profile field (absent: the NameID is the email; names unset). */
export interface AttributeMapping {
  email?: string;
  first_name?: string;
  last_name?: string;
  groups?: string;
}

export interface SsoConnection {
  id: string;
  organizationId: string;
  name: string;
  provider: string;
  enabled: boolean;
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
  idpWantsSignedRequests: boolean;
  metadataUrl: string | null;
  metadataXml: string | null;
  metadataRefreshedAt: Date | null;
  metadataError: string | null;
  spKeyBox: string;
  spCertificate: string;
  spPreviousKeyBox: string | null;
  spPreviousCertificate: string | null;
  spKeyRotatedAt: Date | null;
  attributeMapping: AttributeMapping;
  /** IdP group → organization role. */
  groupRoles: Record<string, string>;
  defaultRole: string;
  jitProvisioning: boolean;
  allowIdpInitiated: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type ConnectionPatch = Partial<
  Omit<SsoConnection, 'id' | 'organizationId' | 'createdAt' | 'updatedAt'>
>;

function decode(r: Selectable<SsoConnectionsTable>): SsoConnection {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    provider: r.provider,
    enabled: toBool(r.enabled),
    idpEntityId: r.idp_entity_id,
    idpSsoUrl: r.idp_sso_url,
    idpCertificates: toJson<string[]>(r.idp_certificates),
    idpWantsSignedRequests: toBool(r.idp_wants_signed_requests),
    metadataUrl: r.metadata_url,
    metadataXml: r.metadata_xml,
    metadataRefreshedAt: toDateOrNull(r.metadata_refreshed_at),
    metadataError: r.metadata_error,
    spKeyBox: r.sp_key_box,
    spCertificate: r.sp_certificate,
    spPreviousKeyBox: r.sp_previous_key_box,
    spPreviousCertificate: r.sp_previous_certificate,
    spKeyRotatedAt: toDateOrNull(r.sp_key_rotated_at),
    attributeMapping: toJson<AttributeMapping>(r.attribute_mapping),
    groupRoles: toJson<Record<string, string>>(r.group_roles),
    defaultRole: r.default_role,
    jitProvisioning: toBool(r.jit_provisioning),
    allowIdpInitiated: toBool(r.allow_idp_initiated),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Column values of a patch (only the fields present). */
function columns(p: ConnectionPatch): Updateable<SsoConnectionsTable> {
  const c: Updateable<SsoConnectionsTable> = {};
  if (p.name !== undefined) c.name = p.name;
  if (p.provider !== undefined) c.provider = p.provider;
  if (p.enabled !== undefined) c.enabled = p.enabled;
  if (p.idpEntityId !== undefined) c.idp_entity_id = p.idpEntityId;
  if (p.idpSsoUrl !== undefined) c.idp_sso_url = p.idpSsoUrl;
  if (p.idpCertificates !== undefined) c.idp_certificates = json(p.idpCertificates);
  if (p.idpWantsSignedRequests !== undefined) c.idp_wants_signed_requests = p.idpWantsSignedRequests;
  if (p.metadataUrl !== undefined) c.metadata_url = p.metadataUrl;
  if (p.metadataXml !== undefined) c.metadata_xml = p.metadataXml;
  if (p.metadataRefreshedAt !== undefined) c.metadata_refreshed_at = p.metadataRefreshedAt;
  if (p.metadataError !== undefined) c.metadata_error = p.metadataError;
  if (p.spKeyBox !== undefined) c.sp_key_box = p.spKeyBox;
  if (p.spCertificate !== undefined) c.sp_certificate = p.spCertificate;
  if (p.spPreviousKeyBox !== undefined) c.sp_previous_key_box = p.spPreviousKeyBox;
  if (p.spPreviousCertificate !== undefined) c.sp_previous_certificate = p.spPreviousCertificate;
  if (p.spKeyRotatedAt !== undefined) c.sp_key_rotated_at = p.spKeyRotatedAt;
  if (p.attributeMapping !== undefined) c.attribute_mapping = json(p.attributeMapping);
  if (p.groupRoles !== undefined) c.group_roles = json(p.groupRoles);
  if (p.defaultRole !== undefined) c.default_role = p.defaultRole;
  if (p.jitProvisioning !== undefined) c.jit_provisioning = p.jitProvisioning;
  if (p.allowIdpInitiated !== undefined) c.allow_idp_initiated = p.allowIdpInitiated;
  return c;
}

export const ssoConnections = {
  async insert(
    ex: Executor,
    c: Omit<SsoConnection, 'createdAt' | 'updatedAt'>,
    now: Date,
  ): Promise<SsoConnection> {
    await ex
      .insertInto('sso_connections')
      .values({
        ...columns(c),
        id: c.id,
        organization_id: c.organizationId,
        created_at: now,
        updated_at: now,
      } as Insertable<SsoConnectionsTable>)
      .execute();
    return { ...c, createdAt: now, updatedAt: now };
  },

  async findById(ex: Executor, id: string): Promise<SsoConnection | undefined> {
    const r = await ex.selectFrom('sso_connections').selectAll().where('id', '=', id).executeTakeFirst();
    return r && decode(r);
  },

  /** An organization's connections, newest first. */
  async listByOrg(ex: Executor, organizationId: string): Promise<SsoConnection[]> {
    const rows = await ex
      .selectFrom('sso_connections')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(decode);
  },

  async list(
    ex: Executor,
    f: { organizationIds?: readonly string[]; limit: number; offset?: number },
  ): Promise<{ items: SsoConnection[]; total: number }> {
    let q = ex.selectFrom('sso_connections');
    if (f.organizationIds) {
      if (!f.organizationIds.length) return { items: [], total: 0 };
      q = q.where('organization_id', 'in', f.organizationIds);
    }
    const [rows, count] = await Promise.all([
      q
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .limit(f.limit)
        .offset(f.offset ?? 0)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(decode), total: Number(count.n) };
  },

  /** Connections whose IdP metadata comes from a URL (the refresh job walks these). */
  async withMetadataUrl(ex: Executor): Promise<SsoConnection[]> {
    const rows = await ex
      .selectFrom('sso_connections')
      .selectAll()
      .where('metadata_url', 'is not', null)
      .orderBy('id')
      .execute();
    return rows.map(decode);
  },

  async update(ex: Executor, id: string, p: ConnectionPatch, now: Date): Promise<SsoConnection | undefined> {
    const r = await ex
      .updateTable('sso_connections')
      .set({ ...columns(p), updated_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return r && decode(r);
  },

  async delete(ex: Executor, id: string): Promise<boolean> {
    const r = await ex.deleteFrom('sso_connections').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },
};

export interface SsoDomain {
  domain: string;
  organizationId: string;
  verificationToken: string;
  verifiedAt: Date | null;
  createdAt: Date;
}

function decodeDomain(r: Selectable<SsoDomainsTable>): SsoDomain {
  return {
    domain: r.domain,
    organizationId: r.organization_id,
    verificationToken: r.verification_token,
    verifiedAt: toDateOrNull(r.verified_at),
    createdAt: toDate(r.created_at),
  };
}

export const ssoDomains = {
  /** Claims a domain for an organization; false when another organization (or this one) already has it. */
  async insert(ex: Executor, d: SsoDomain): Promise<boolean> {
    const rows = await ex
      .insertInto('sso_domains')
      .values({
        domain: d.domain,
        organization_id: d.organizationId,
        verification_token: d.verificationToken,
        verified_at: d.verifiedAt,
        created_at: d.createdAt,
      })
      .onConflict((oc) => oc.column('domain').doNothing())
      .returning('domain')
      .execute();
    return rows.length === 1;
  },

  async find(ex: Executor, domain: string): Promise<SsoDomain | undefined> {
    const r = await ex.selectFrom('sso_domains').selectAll().where('domain', '=', domain).executeTakeFirst();
    return r && decodeDomain(r);
  },

  async listByOrg(ex: Executor, organizationId: string): Promise<SsoDomain[]> {
    const rows = await ex
      .selectFrom('sso_domains')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('domain')
      .execute();
    return rows.map(decodeDomain);
  },

  async markVerified(ex: Executor, domain: string, now: Date): Promise<void> {
    await ex.updateTable('sso_domains').set({ verified_at: now }).where('domain', '=', domain).execute();
  },

  async delete(ex: Executor, organizationId: string, domain: string): Promise<boolean> {
    const r = await ex
      .deleteFrom('sso_domains')
      .where('domain', '=', domain)
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },
};
