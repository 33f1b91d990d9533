/** The config loader: precedence flag > env > config file (JSON, YAML) > default, validation, URL forms, redaction. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, normalizeDatabaseUrl, redactConfig } from '../../src/core/config/load.js';
import { OPTIONS } from '../../src/core/config/schema.js';
import { isJanuaError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/db.js';

const dir = tempDir('janua-config-');
after(() => dir.remove());
const BASE_ENV = { HOME: dir.path, XDG_DATA_HOME: join(dir.path, 'xdg') };

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

/** Asserts that loading fails with a ConfigError (VALIDATION_ERROR) whose message matches every pattern. */
function fails(sources: Parameters<typeof loadConfig>[0], ...patterns: RegExp[]): void {
  assert.throws(
    () => loadConfig({ cwd: dir.path, ...sources, env: { ...BASE_ENV, ...sources?.env } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.ok(isJanuaError(err) && err.code === 'VALIDATION_ERROR');
      for (const p of patterns) assert.match((err as Error).message, p);
      return true;
    },
  );
}

describe('config loader', () => {
  it('gives the documented defaults', () => {
    const cfg = loadConfig({ env: BASE_ENV, cwd: dir.path });
    assert.equal(cfg.port, 8000);
    assert.equal(cfg.host, '127.0.0.1');
    assert.equal(cfg.accessTokenMinutes, 480);
    assert.equal(cfg.refreshTokenDays, 7);
    assert.equal(cfg.bcryptRounds, 12);
    assert.equal(cfg.rateLimitEnabled, true);
    assert.deepEqual(cfg.rateLimitWhitelist, []);
    assert.equal(cfg.logLevel, 'info');
    assert.equal(cfg.dataDir, join(dir.path, 'xdg', 'janua'));
    assert.equal(cfg.databaseUrl, `sqlite:${join(dir.path, 'xdg', 'janua', 'janua.db')}`);
    assert.equal(cfg.baseUrl, 'http://127.0.0.1:8000');
    assert.ok(cfg.passwordHashConcurrency >= 1);
    assert.equal(cfg.masterKey, undefined);
  });

  it('precedence: flag > env > JSON config file > default', () => {
    const json = file(
      'prec.json',
      JSON.stringify({ port: 7001, jwtAudience: 'from-file', LOG_LEVEL: 'warn' }),
    );
    const fileOnly = loadConfig({ env: BASE_ENV, configFile: json, cwd: dir.path });
    assert.equal(fileOnly.port, 7001);
    assert.equal(fileOnly.jwtAudience, 'from-file');
    assert.equal(fileOnly.logLevel, 'warn', 'a config file may use the environment-variable name too');
    assert.equal(fileOnly.refreshTokenDays, 7, 'default where nothing is given');
    const envOverFile = loadConfig({ env: { ...BASE_ENV, PORT: '7002' }, configFile: json, cwd: dir.path });
    assert.equal(envOverFile.port, 7002);
    assert.equal(envOverFile.jwtAudience, 'from-file');
    const flagOverEnv = loadConfig({
      env: { ...BASE_ENV, PORT: '7002' },
      flags: { port: '7003' },
      configFile: json,
      cwd: dir.path,
    });
    assert.equal(flagOverEnv.port, 7003);
    // An empty environment variable counts as unset.
    assert.equal(loadConfig({ env: { ...BASE_ENV, PORT: '' }, configFile: json, cwd: dir.path }).port, 7001);
  });

  it('precedence with a YAML config file named by JANUA_CONFIG; YAML types and lists', () => {
    const yaml = file(
      'janua.yaml',
      [
        'port: 7100',
        'rateLimitEnabled: false',
        'corsOrigins:',
        '  - https://a.example',
        '  - https://b.example',
        'RATE_LIMIT_WHITELIST: 10.0.0.0/8, 127.0.0.1',
        'accessTokenMinutes: "60"',
      ].join('\n'),
    );
    const cfg = loadConfig({ env: { ...BASE_ENV, JANUA_CONFIG: yaml }, cwd: dir.path });
    assert.equal(cfg.port, 7100);
    assert.equal(cfg.rateLimitEnabled, false);
    assert.deepEqual(cfg.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.deepEqual(cfg.rateLimitWhitelist, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(cfg.accessTokenMinutes, 60);
    const over = loadConfig({
      env: { ...BASE_ENV, JANUA_CONFIG: yaml, RATE_LIMIT_ENABLED: 'yes' },
      flags: { port: 7200 },
      cwd: dir.path,
    });
    assert.equal(over.port, 7200);
    assert.equal(over.rateLimitEnabled, true);
    // An empty YAML file is no settings at all.
    assert.equal(loadConfig({ env: BASE_ENV, configFile: file('empty.yml', ''), cwd: dir.path }).port, 8000);
  });

  it('rejects an unknown config-file key, naming it', () => {
    fails(
      { configFile: file('unknown.json', JSON.stringify({ port: 1, prot: 2 })) },
      /unknown setting "prot"/,
    );
    fails(
      { configFile: file('unknown.yaml', 'databaseURL: sqlite:x.db\n') },
      /unknown setting "databaseURL"/,
    );
  });

  it('rejects unreadable, malformed and non-object config files', () => {
    fails({ configFile: join(dir.path, 'missing.json') }, /cannot read config file .*missing\.json/);
    fails({ configFile: file('bad.json', '{"port": ') }, /not valid JSON/);
    fails({ configFile: file('bad.yaml', 'port: [1, 2\n') }, /not valid YAML/);
    fails({ configFile: file('list.yaml', '- 1\n- 2\n') }, /must hold an object/);
  });

  it('every type error names the setting and where it came from', () => {
    for (const spec of OPTIONS) {
      const bad =
        spec.type === 'int'
          ? '12x'
          : spec.type === 'bool'
            ? 'maybe'
            : spec.type === 'enum'
              ? 'loud'
              : undefined;
      if (bad === undefined) continue;
      const env = new RegExp(`${spec.key} \\(${spec.env}\\)`);
      fails({ env: { [spec.env]: bad } }, env);
      fails(
        { configFile: file(`bad-${spec.key}.json`, JSON.stringify({ [spec.key]: bad })) },
        new RegExp(spec.key),
        /config file/,
      );
      if (spec.flag) fails({ flags: { [spec.key]: bad } }, new RegExp(`${spec.key} \\(--${spec.flag}\\)`));
    }
  });

  it('range, type and cross-setting errors name the setting', () => {
    fails({ env: { PORT: '70000' } }, /port \(PORT\) must be at most 65535; got 70000/);
    fails({ env: { BCRYPT_ROUNDS: '3' } }, /bcryptRounds \(BCRYPT_ROUNDS\) must be at least 4/);
    fails({ env: { PASSWORD_MIN_LENGTH: '7' } }, /passwordMinLength/);
    fails({ env: { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: '1.5' } }, /accessTokenMinutes .* whole number/);
    fails(
      { configFile: file('type.json', JSON.stringify({ jwtAudience: 42 })) },
      /jwtAudience .* must be a string/,
    );
    fails({ configFile: file('list.json', JSON.stringify({ corsOrigins: 5 })) }, /corsOrigins .* list/);
    fails({ env: { JANUA_BASE_URL: 'not a url' } }, /JANUA_BASE_URL must be an absolute URL/);
    fails({ env: { RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_PER_HOUR: '50' } }, /RATE_LIMIT_PER_HOUR/);
    fails({ env: { ADMIN_BOOTSTRAP_EMAIL: 'a@example.com' } }, /ADMIN_BOOTSTRAP_PASSWORD/);
    fails({ env: { DATABASE_URL: 'mysql://root:hunter2@db/janua' } }, /DATABASE_URL must start with/);
    fails({ env: { DATABASE_URL: 'sqlite:' } }, /DATABASE_URL "sqlite:" needs a file path/);
  });

  it('an invalid DATABASE_URL error does not echo its password', () => {
    assert.throws(
      () =>
        loadConfig({ env: { ...BASE_ENV, DATABASE_URL: 'mysql://root:p@ss@word@db/janua' }, cwd: dir.path }),
      (err: Error) =>
        !/ss|word|p@/.test(err.message.replace('DATABASE_URL must start with sqlite: or postgres://', '')),
    );
  });

  it('accepts the sqlite and postgres URL forms', () => {
    assert.equal(normalizeDatabaseUrl('sqlite:data/j.db', '/srv/app'), 'sqlite:/srv/app/data/j.db');
    assert.equal(normalizeDatabaseUrl('sqlite:./j.db', '/srv/app'), 'sqlite:/srv/app/j.db');
    assert.equal(
      normalizeDatabaseUrl('sqlite:///var/lib/janua/j.db', '/srv/app'),
      'sqlite:/var/lib/janua/j.db',
    );
    assert.equal(
      normalizeDatabaseUrl('sqlite:/var/lib/janua/j.db', '/srv/app'),
      'sqlite:/var/lib/janua/j.db',
    );
    assert.equal(normalizeDatabaseUrl('sqlite::memory:', '/srv/app'), 'sqlite::memory:');
    assert.equal(normalizeDatabaseUrl('postgres://u:p@h:5432/db', '/x'), 'postgres://u:p@h:5432/db');
    assert.equal(
      normalizeDatabaseUrl('postgresql://h/db?sslmode=require', '/x'),
      'postgresql://h/db?sslmode=require',
    );
    const cfg = loadConfig({ env: { ...BASE_ENV, DATABASE_URL: 'sqlite:rel/j.db' }, cwd: dir.path });
    assert.equal(cfg.databaseUrl, `sqlite:${join(dir.path, 'rel', 'j.db')}`);
  });

  it('redactConfig hides secrets and the database password', () => {
    const secrets = {
      JANUA_MASTER_KEY: 'bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXkh',
      REDIS_URL: 'redis://:redispass@cache:6379/0',
      ADMIN_BOOTSTRAP_EMAIL: 'root@example.com',
      ADMIN_BOOTSTRAP_PASSWORD: 'Bootstrap-Pass-1',
      DATABASE_URL: 'postgres://janua:db-pass-123@db.internal:5432/janua',
    };
    const cfg = loadConfig({ env: { ...BASE_ENV, ...secrets }, cwd: dir.path });
    const red = redactConfig(cfg);
    assert.equal(red['masterKey'], '***');
    assert.equal(red['redisUrl'], '***');
    assert.equal(red['adminBootstrapPassword'], '***');
    assert.equal(red['adminBootstrapEmail'], 'root@example.com');
    assert.equal(red['databaseUrl'], 'postgres://janua:***@db.internal:5432/janua');
    const text = JSON.stringify(red);
    for (const s of ['bWFzdGVy', 'redispass', 'Bootstrap-Pass-1', 'db-pass-123'])
      assert.ok(!text.includes(s), s);
    // Unset secrets stay undefined, and every option is listed.
    const plain = redactConfig(loadConfig({ env: BASE_ENV, cwd: dir.path }));
    assert.equal(plain['masterKey'], undefined);
    assert.deepEqual(Object.keys(plain).sort(), OPTIONS.map((o) => o.key).sort());
  });

  it('redactConfig hides a database password that contains @ (which pg accepts unencoded)', () => {
    const cfg = loadConfig({
      env: { ...BASE_ENV, DATABASE_URL: 'postgres://janua:p@ss@db:5432/janua?x=a@b' },
      cwd: dir.path,
    });
    assert.equal(redactConfig(cfg)['databaseUrl'], 'postgres://janua:***@db:5432/janua?x=a@b');
  });
});
