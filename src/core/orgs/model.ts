export interface Organization {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  logoUrl: string | null;
  metadata: Record<string, unknown>;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The organization object of the API (UUID id, ISO timestamps). */
export interface PublicOrganization {
  id: string;
  name: string;
  slug: string;
  description: string | null;
  logo_url: string | null;
  metadata: Record<string, unknown>;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export function presentOrganization(o: Organization): PublicOrganization {
  return {
    id: o.id,
    name: o.name,
    slug: o.slug,
    description: o.description,
    logo_url: o.logoUrl,
    metadata: o.metadata,
    created_by: o.createdBy,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  };
}

/** Slugs: lower-case letters, digits and single hyphens, 2–63 characters (a DNS label). */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,62}$/;
