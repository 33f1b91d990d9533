/**
 * The core side of imports from other systems (issue 13): what an importer hands the core, already mapped and
 * validated (src/migrate/auth0/map-*.ts), and what it gets back per record. The core writes each batch in one
 * transaction with its audit row, its domain events and (when given) the run's checkpoint, so a batch and the
 * record of having done it commit together: a run killed at any point resumes without duplicates or losses.
 *
 * Implementations: ./users.ts (users, identities, password hashes), ./orgs.ts (organizations, roles,
 * memberships), ./runs.ts (checkpoints). src/migrate has no SQL of its own; it calls these.
 */
import type { Deps } from '../deps.js';

export type ImportDeps = Pick<Deps, 'store' | 'clock'>;

/** The `source` of import records and runs written by `janua migrate auth0`. */
export const AUTH0_SOURCE = 'auth0';

/** Where a batch leaves its run: written in the batch's transaction. */
export interface BatchCheckpoint {
  runId: string;
  phase: string;
  /** Records of this phase consumed once this batch commits (the next run skips that many). */
  position: number;
  stats: Record<string, unknown>;
}

export interface ImportBatchOptions {
  /** Map, validate and look up, but write nothing (the outcomes say what a real run would do). */
  dryRun: boolean;
  checkpoint?: BatchCheckpoint | undefined;
}

export interface ExternalIdentity {
  provider: string;
  providerUserId: string;
  connection: string | null;
  isSocial: boolean;
  profile?: Record<string, unknown>;
}

/** A user as the source has it, mapped to Janua's fields; `email` already normalized and checked. */
export interface ExternalUser {
  /** 1-based position in the source stream (for the report). */
  index: number;
  /** The source's id (Auth0 `user_id`, e.g. `auth0|64f…`): what re-runs upsert by. */
  externalId: string;
  email: string;
  emailVerified: boolean;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  nickname: string | null;
  pictureUrl: string | null;
  phoneNumber: string | null;
  phoneVerified: boolean;
  /** Kept as the user's created_at; null: now. */
  createdAt: Date | null;
  lastSignInAt: Date | null;
  /** Auth0 `blocked`: the Janua user is suspended. */
  suspended: boolean;
  userMetadata: Record<string, unknown>;
  appMetadata: Record<string, unknown>;
  identities: ExternalIdentity[];
  /** A bcrypt hash that came with the record (rare in Auth0 exports; usually from the hash file). */
  passwordHash: string | null;
  /** What could not be carried, for the report (MFA enrolments, unknown hash formats …). */
  warnings: string[];
}

export type UserImportStatus = 'created' | 'updated' | 'unchanged' | 'failed';

export interface UserImportOutcome {
  index: number;
  externalId: string;
  email: string;
  status: UserImportStatus;
  userId?: string;
  /** Why it failed (`failed`): e.g. the email belongs to another account. */
  reason?: string;
}

/** One line of a password-hash export, mapped: joined to a user by external id, else by email. */
export interface ExternalPasswordHash {
  index: number;
  externalId: string | null;
  email: string | null;
  hash: string;
}

export type PasswordImportStatus = 'set' | 'unchanged' | 'unmatched' | 'failed';

export interface PasswordImportOutcome {
  index: number;
  status: PasswordImportStatus;
  userId?: string;
  reason?: string;
}

export interface ExternalRole {
  externalId: string;
  name: string;
  description: string | null;
  /** Permission names as Janua stores them (mapped from Auth0's `permission_name`). */
  permissions: string[];
}

export interface ExternalOrganization {
  index: number;
  externalId: string;
  /** Display name (Auth0 `display_name`, else `name`). */
  name: string;
  /** The slug wanted (from Auth0's `name`); a taken slug is resolved deterministically. */
  slug: string;
  logoUrl: string | null;
  metadata: Record<string, unknown>;
}

export type OrgImportStatus = 'created' | 'updated' | 'unchanged' | 'failed';

export interface OrgImportOutcome {
  index: number;
  externalId: string;
  status: OrgImportStatus;
  organizationId?: string;
  slug?: string;
  reason?: string;
}

export interface ExternalMember {
  index: number;
  /** Auth0 user id of the member; a user not imported (yet) is a failed item. */
  userExternalId: string;
  /** Roles the member holds in the organization (role ids of the source). */
  roleExternalIds: string[];
}

export type MemberImportStatus = 'created' | 'updated' | 'unchanged' | 'failed';

export interface MemberImportOutcome {
  index: number;
  userExternalId: string;
  status: MemberImportStatus;
  role?: string;
  reason?: string;
  warnings?: string[];
}
