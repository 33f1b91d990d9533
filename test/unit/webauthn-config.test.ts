/** WEBAUTHN_* options: zero-config defaults from JANUA_BASE_URL, exact origins only, and clear refusals. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/core/config/load.js';
import { tempDir } from '../helpers/db.js';

const dir = tempDir('janua-webauthn-config-');
after(() => dir.remove());
const load = (env: Record<string, string>) =>
  loadConfig({ cwd: dir.path, env: { HOME: dir.path, XDG_DATA_HOME: join(dir.path, 'xdg'), ...env } });

function fails(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(
    () => load(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.match((err as Error).message, pattern);
      return true;
    },
  );
}

describe('WEBAUTHN_* configuration', () => {
  it('defaults to localhost on the default (loopback IP) base URL: an IP address cannot be an RP id', () => {
    const c = load({});
    assert.equal(c.webauthnRpId, 'localhost');
    assert.deepEqual(c.webauthnOrigins, ['http://localhost:8000']);
    assert.equal(c.webauthnRpName, 'Janua');
    assert.deepEqual(load({ PORT: '9123' }).webauthnOrigins, ['http://localhost:9123']);
  });

  it('derives the RP id and origin from JANUA_BASE_URL', () => {
    const c = load({ JANUA_BASE_URL: 'https://auth.example.com/janua/' });
    assert.equal(c.webauthnRpId, 'auth.example.com');
    assert.deepEqual(c.webauthnOrigins, ['https://auth.example.com']);
  });

  it('takes an exact list of origins on the RP id', () => {
    const c = load({
      WEBAUTHN_RP_ID: 'Example.com',
      WEBAUTHN_RP_NAME: 'Example',
      WEBAUTHN_ORIGINS: 'https://example.com, https://app.example.com:8443/',
    });
    assert.equal(c.webauthnRpId, 'example.com');
    assert.deepEqual(c.webauthnOrigins, ['https://example.com', 'https://app.example.com:8443']);
  });

  it('refuses wildcards, paths, origins off the RP id, and a bad RP id, naming the setting', () => {
    fails(
      { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://*.example.com' },
      /WEBAUTHN_ORIGINS.*wildcards/,
    );
    fails({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: '*' }, /wildcards/);
    fails({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com/app' }, /bare origins/);
    fails({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'example.com' }, /WEBAUTHN_ORIGINS/);
    fails(
      { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.org' },
      /not on WEBAUTHN_RP_ID/,
    );
    fails(
      { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://badexample.com' },
      /not on WEBAUTHN_RP_ID/,
    );
    fails({ WEBAUTHN_RP_ID: 'https://example.com' }, /WEBAUTHN_RP_ID must be a bare domain/);
  });
});
