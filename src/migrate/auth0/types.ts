/**
 * The shapes `janua migrate auth0` reads, as Auth0 documents them (Management API v2 and the users export
 * job's NDJSON), and the one interface every source (live tenant, files) offers the runner. Fields Auth0 may
 * omit are optional; the mapping (./map-user.ts, ./map-org.ts) validates before anything is written.
 */

/** One user of a users export (`POST /api/v2/jobs/users-exports`, NDJSON) or of `GET /api/v2/users`. */
export interface Auth0User {
  user_id: string;
  email?: string;
  email_verified?: boolean;
  username?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  nickname?: string;
  picture?: string;
  phone_number?: string;
  phone_verified?: boolean;
  created_at?: string;
  updated_at?: string;
  last_login?: string;
  blocked?: boolean;
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
  identities?: Auth0Identity[];
  /** MFA enrolments Auth0 knows of (not exportable: listed in the report). */
  multifactor?: string[];
  [extra: string]: unknown;
}

export interface Auth0Identity {
  provider: string;
  user_id: string | number;
  connection?: string;
  isSocial?: boolean;
  profileData?: Record<string, unknown>;
}

/** One line of Auth0's password-hash export (support ticket): NDJSON. */
export interface Auth0PasswordHash {
  _id?: { $oid?: string };
  email?: string;
  email_verified?: boolean;
  passwordHash?: string;
  password_set_date?: { $date?: string };
  tenant?: string;
  connection?: string;
}

export interface Auth0Organization {
  id: string;
  name: string;
  display_name?: string;
  metadata?: Record<string, string>;
  branding?: { logo_url?: string; colors?: Record<string, string> };
}

export interface Auth0Member {
  user_id: string;
  email?: string;
  name?: string;
  picture?: string;
  roles?: Array<{ id: string; name: string }>;
}

export interface Auth0Permission {
  permission_name: string;
  resource_server_identifier: string;
  resource_server_name?: string;
  description?: string;
}

export interface Auth0Role {
  id: string;
  name: string;
  description?: string;
  permissions: Auth0Permission[];
}

/** A record read from a file or stream: its 1-based position, and the value or why it could not be parsed. */
export interface SourceRecord<T = unknown> {
  index: number;
  value?: T;
  error?: string;
}

/**
 * What the runner reads from. The live tenant offers everything; files offer users (and password hashes,
 * which only ever come from a file).
 */
export interface Auth0Source {
  /** A description for logs and the report: the tenant's domain or the file's path. Never a secret. */
  readonly label: string;
  /** A fingerprint of the inputs: a checkpoint is resumed only by a run over the same inputs. */
  inputKey(): Promise<string>;
  users(): AsyncIterable<SourceRecord<Auth0User>>;
  roles?(): AsyncIterable<Auth0Role>;
  organizations?(): AsyncIterable<Auth0Organization>;
  members?(organizationId: string): AsyncIterable<Auth0Member>;
  /** Users holding a tenant-level role. */
  roleUsers?(roleId: string): AsyncIterable<{ user_id: string; email?: string }>;
  close?(): Promise<void>;
  /**
   * Sources whose users come from a file they made (the live tenant's export job): what the checkpoint keeps
   * so a resumed run reads the same file (positions are only meaningful within one export).
   */
  exportState?(): { jobId?: string | undefined; file?: string | undefined };
  resumeExport?(state: { jobId?: string | undefined; file?: string | undefined }): void;
}
