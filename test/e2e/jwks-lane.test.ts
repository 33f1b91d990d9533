/**
 * The JWKS fast lane in the real daemon, configured as it serves production resource servers: quiet logs,
 * limits on, the verifier's address whitelisted. A relying party (jose's remote JWK Set) verifies tokens
 * against what the lane serves, and the lane's answer is the router's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { dialects } from '../helpers/db.js';
import type { Daemon } from '../helpers/janua.js';
import { type Call, e2eDaemon, signUp } from './support.js';

for (const dialect of dialects()) {
  describe(`e2e JWKS fast lane (${dialect})`, () => {
    let d: Daemon;
    let call: Call;
    e2eDaemon(
      dialect,
      { LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_WHITELIST: '127.0.0.1,::1' },
      (f) => {
        ({ d, call } = f);
      },
    );

    test('tokens verify against the lane’s JWK Set, which is the router’s', async () => {
      const s = await signUp(call);
      const jwks = createRemoteJWKSet(new URL(`${d.url}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(s.access_token, jwks, { algorithms: ['RS256'] });
      assert.equal(payload['sub'], s.user.id);
      const lane = await call('GET', '/.well-known/jwks.json');
      const routed = await call('GET', '/.well-known/jwks.json?via=router');
      assert.equal(lane.status, 200);
      assert.equal(lane.text, routed.text);
      for (const h of [
        'cache-control',
        'content-type',
        'x-content-type-options',
        'strict-transport-security',
      ])
        assert.equal(lane.headers[h], routed.headers[h], h);
      assert.equal(lane.headers['x-ratelimit-limit'], undefined, 'a whitelisted client is not counted');
      assert.ok(!d.logs.join('\n').includes('fast lane not installed'), d.logs.join('\n'));
    });
  });
}
