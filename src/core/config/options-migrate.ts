/**
 * Settings for moving off Auth0 (issue 13): the tenant `janua migrate auth0` reads (its flags override these),
 * and the lazy (trickle) migration `janua serve` does at sign-in. Spread into OPTIONS by ./schema.ts.
 */
import { resolve } from 'node:path';
import type { JanuaConfig, OptionSpec } from './schema.js';

export interface MigrateConfig {
  auth0Domain: string | undefined;
  auth0ClientId: string | undefined;
  auth0ClientSecret: string | undefined;
  auth0ClientSecretFile: string | undefined;
  auth0LazyMigration: boolean;
  auth0LazyConnection: string;
  auth0LazyClientId: string | undefined;
  auth0LazyClientSecret: string | undefined;
}

export const MIGRATE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'auth0Domain',
    env: 'AUTH0_DOMAIN',
    type: 'string',
    default: undefined,
    doc: 'The Auth0 tenant (`example.eu.auth0.com`, or a custom domain; `host:port` allowed) that `janua migrate auth0` reads and lazy migration asks.',
  },
  {
    key: 'auth0ClientId',
    env: 'AUTH0_CLIENT_ID',
    type: 'string',
    default: undefined,
    doc: 'Client id of a machine-to-machine application authorized for the Management API (scopes in the migration guide).',
  },
  {
    key: 'auth0ClientSecret',
    env: 'AUTH0_CLIENT_SECRET',
    type: 'string',
    default: undefined,
    secret: true,
    doc: 'Its client secret.',
  },
  {
    key: 'auth0ClientSecretFile',
    env: 'AUTH0_CLIENT_SECRET_FILE',
    type: 'string',
    default: undefined,
    doc: 'File holding the client secret (used when `AUTH0_CLIENT_SECRET` is unset).',
  },
  {
    key: 'auth0LazyMigration',
    env: 'AUTH0_LAZY_MIGRATION',
    type: 'bool',
    default: false,
    doc: 'Lazy migration: a migrated user without a password who signs in is checked once against the Auth0 tenant (password-realm grant); on success the password is kept. See the migration guide for the trade-offs.',
  },
  {
    key: 'auth0LazyConnection',
    env: 'AUTH0_LAZY_MIGRATION_CONNECTION',
    type: 'string',
    default: 'Username-Password-Authentication',
    doc: 'The Auth0 database connection (realm) lazy migration checks passwords against.',
  },
  {
    key: 'auth0LazyClientId',
    env: 'AUTH0_LAZY_MIGRATION_CLIENT_ID',
    type: 'string',
    default: undefined,
    derivedDefault: '`AUTH0_CLIENT_ID`',
    doc: 'Client id of the Auth0 application with the Password grant that lazy migration uses.',
  },
  {
    key: 'auth0LazyClientSecret',
    env: 'AUTH0_LAZY_MIGRATION_CLIENT_SECRET',
    type: 'string',
    default: undefined,
    secret: true,
    derivedDefault: 'the client secret above',
    doc: 'Its client secret.',
  },
];

/** Derived settings, after every option is read (called by loadConfig). */
export function finishMigrateConfig(cfg: JanuaConfig, cwd: string): void {
  if (cfg.auth0ClientSecretFile) cfg.auth0ClientSecretFile = resolve(cwd, cfg.auth0ClientSecretFile);
}
