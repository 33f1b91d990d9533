import { readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { validate as validCron } from 'node-cron';
import { parse as parseYaml } from 'yaml';
import { JanuaError } from '../errors.js';
import { finishMailConfig } from './options-mail.js';
import { finishMigrateConfig } from './options-migrate.js';
import { finishWebauthnConfig } from './options-webauthn.js';
import { type JanuaConfig, OPTIONS, type OptionSpec } from './schema.js';

export interface ConfigSources {
  /** Values from command-line flags, keyed by config key (undefined = not given). */
  flags?: Partial<Record<keyof JanuaConfig, unknown>>;
  /** The process environment (the only place core reads it). */
  env?: Record<string, string | undefined>;
  /** Path of a JSON or YAML config file (`--config` / `JANUA_CONFIG`). */
  configFile?: string | undefined;
  cwd?: string;
}

export class ConfigError extends JanuaError {
  constructor(detail: string) {
    super('VALIDATION_ERROR', detail);
    this.name = 'ConfigError';
  }
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function coerce(spec: OptionSpec, raw: unknown, origin: string): unknown {
  const where = `${spec.key} (${origin})`;
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') throw new ConfigError(`${where} must be a string`);
      return raw;
    case 'enum': {
      const value = String(raw);
      if (!spec.values?.includes(value)) {
        throw new ConfigError(`${where} must be one of ${spec.values?.join(', ')}; got "${value}"`);
      }
      return value;
    }
    case 'int': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : Number.NaN;
      if (!Number.isSafeInteger(n))
        throw new ConfigError(`${where} must be a whole number; got "${String(raw)}"`);
      if (spec.min !== undefined && n < spec.min)
        throw new ConfigError(`${where} must be at least ${spec.min}; got ${n}`);
      if (spec.max !== undefined && n > spec.max)
        throw new ConfigError(`${where} must be at most ${spec.max}; got ${n}`);
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      throw new ConfigError(`${where} must be true or false; got "${String(raw)}"`);
    }
    case 'cron': {
      const value = String(raw).trim();
      if (value === 'off' || validCron(value)) return value;
      throw new ConfigError(
        `${where} must be a cron expression (e.g. "17 * * * *") or "off"; got "${String(raw)}"`,
      );
    }
    case 'list': {
      if (Array.isArray(raw))
        return raw
          .map(String)
          .map((s) => s.trim())
          .filter(Boolean);
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      throw new ConfigError(`${where} must be a list or a comma-separated string`);
    }
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      `config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`config file ${path} must hold an object of settings`);
  const known = new Map<string, OptionSpec>();
  for (const spec of OPTIONS) {
    known.set(spec.key, spec);
    known.set(spec.env, spec);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    const spec = known.get(name);
    if (!spec) throw new ConfigError(`config file ${path}: unknown setting "${name}"`);
    out[spec.key] = value;
  }
  return out;
}

/**
 * The user-info part of a URL's authority, up to its *last* `@` (pg, like the WHATWG URL parser, accepts an
 * unencoded `@` in a password), so no piece of a password survives redaction.
 */
const USERINFO = /\/\/[^/?#]*@/;

/** Resolves `sqlite:` URLs against the working directory so every command sees the same file. */
export function normalizeDatabaseUrl(url: string, cwd: string): string {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return url;
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path → /abs/path
    if (path === '')
      throw new ConfigError('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:./janua.db');
    if (path === ':memory:') return 'sqlite::memory:';
    return `sqlite:${isAbsolute(path) ? path : resolve(cwd, path)}`;
  }
  throw new ConfigError(
    `DATABASE_URL must start with sqlite: or postgres://; got "${url.replace(USERINFO, '//***@')}"`,
  );
}

/** Builds the validated configuration. Throws ConfigError naming the setting and its source. */
export function loadConfig(sources: ConfigSources = {}): JanuaConfig {
  const env = sources.env ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const flags = sources.flags ?? {};
  const configPath = sources.configFile ?? env['JANUA_CONFIG'];
  const file = configPath ? readConfigFile(resolve(cwd, configPath)) : {};
  const values: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    const flag = flags[spec.key];
    const fromEnv = env[spec.env];
    if (flag !== undefined) values[spec.key] = coerce(spec, flag, `--${spec.flag ?? spec.key}`);
    else if (fromEnv !== undefined && fromEnv !== '') values[spec.key] = coerce(spec, fromEnv, spec.env);
    else if (file[spec.key] !== undefined)
      values[spec.key] = coerce(spec, file[spec.key], `config file ${configPath}`);
    else values[spec.key] = spec.default;
  }
  const cfg = values as unknown as JanuaConfig;
  const dataHome = env['XDG_DATA_HOME'] || join(env['HOME'] || homedir(), '.local', 'share');
  cfg.dataDir = resolve(cwd, cfg.dataDir ?? join(dataHome, 'janua'));
  cfg.databaseUrl = normalizeDatabaseUrl(cfg.databaseUrl ?? `sqlite:${join(cfg.dataDir, 'janua.db')}`, cwd);
  if (cfg.masterKeyFile) cfg.masterKeyFile = resolve(cwd, cfg.masterKeyFile);
  if (cfg.masterKeyPreviousFile) cfg.masterKeyPreviousFile = resolve(cwd, cfg.masterKeyPreviousFile);
  cfg.baseUrl = (
    cfg.baseUrl ?? `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${cfg.port}`
  ).replace(/\/+$/, '');
  try {
    new URL(cfg.baseUrl);
  } catch {
    throw new ConfigError(`JANUA_BASE_URL must be an absolute URL; got "${cfg.baseUrl}"`);
  }
  finishMailConfig(cfg, cwd);
  finishMigrateConfig(cfg, cwd);
  finishWebauthnConfig(cfg, (msg) => {
    throw new ConfigError(msg);
  });
  cfg.passwordHashConcurrency ??= availableParallelism();
  if (cfg.rateLimitPerHour < cfg.rateLimitPerMinute) {
    throw new ConfigError('RATE_LIMIT_PER_HOUR must be at least RATE_LIMIT_PER_MINUTE');
  }
  if (cfg.adminBootstrapEmail && !cfg.adminBootstrapPassword) {
    throw new ConfigError('ADMIN_BOOTSTRAP_EMAIL is set but ADMIN_BOOTSTRAP_PASSWORD is not');
  }
  return cfg;
}

/** The effective configuration with secrets replaced, for logs, `janua config` and the admin API. */
export function redactConfig(cfg: JanuaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    const v = cfg[spec.key];
    out[spec.key] = spec.secret && v !== undefined ? '***' : v;
  }
  out['databaseUrl'] = maskDatabaseUrl(cfg.databaseUrl);
  return out;
}

/** A database URL fit to print: the password (in the user info or a `password=` parameter) replaced. */
export function maskDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:@/?#]*):[^/?#]*@/, '//$1:***@').replace(/([?&]password=)[^&]*/gi, '$1***');
}
