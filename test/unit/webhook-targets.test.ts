/**
 * The pure checks of webhook subscriptions: which literal addresses are private, URL normalization, event
 * names and patterns (with the SDK's aliases), custom headers, and the CLI's --since/--until parser.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTimeArg } from '../../src/cli/time-arg.js';
import { EVENT_CATALOGUE, matchesPattern, normalizeEvents } from '../../src/core/webhooks/catalogue.js';
import { checkEndpointUrl, checkHeaders, isPrivateAddress } from '../../src/core/webhooks/targets.js';

describe('webhook targets', () => {
  test('private, loopback, link-local, metadata and reserved literals; public ones pass', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00:ec2::254',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
    ])
      assert.equal(isPrivateAddress(ip), true, ip);
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '172.32.0.1'])
      assert.equal(isPrivateAddress(ip), false, ip);
  });

  test('URLs: normalized; odd spellings of loopback are caught after WHATWG parsing', () => {
    assert.equal(
      checkEndpointUrl('HTTPS://Hooks.Example.com/a?b=1', false),
      'https://hooks.example.com/a?b=1',
    );
    for (const u of [
      'http://0x7f.1/',
      'http://017700000001/',
      'http://127.1/',
      'http://[0:0:0:0:0:ffff:7f00:1]/',
      'http://api.localhost/',
    ])
      assert.throws(() => checkEndpointUrl(u, false), /private/, u);
    assert.equal(checkEndpointUrl('http://127.0.0.1:8080/h', true), 'http://127.0.0.1:8080/h');
    for (const u of ['/relative', 'mailto:a@b.c', 'https://a b.example/', 'https://x.example/\u0007'])
      assert.throws(() => checkEndpointUrl(u, true), /url/, u);
  });

  test('events: names, patterns, aliases, dedupe; unknown ones named', () => {
    assert.deepEqual(
      normalizeEvents(['user.signed_in', 'session.created', 'organization.member_removed', '*']),
      ['session.created', 'organization.member.removed', '*'],
    );
    assert.deepEqual(normalizeEvents(['organization.member.*']), ['organization.member.*']);
    assert.throws(() => normalizeEvents(['usr.*', 'user']), /"usr\.\*", "user"/);
    assert.ok(matchesPattern('user.*', 'user.created'));
    assert.ok(!matchesPattern('user.*', 'users.created'));
    assert.ok(matchesPattern('*', 'webhook.test'));
    assert.equal(new Set(EVENT_CATALOGUE.map((e) => e.type)).size, EVENT_CATALOGUE.length);
  });

  test('headers: tokens, no line breaks, nothing Janua sets', () => {
    assert.deepEqual(checkHeaders({ Authorization: 'Bearer x', 'X-Tenant': 'a b' }), {
      Authorization: 'Bearer x',
      'X-Tenant': 'a b',
    });
    for (const h of [
      { 'Transfer-Encoding': 'chunked' },
      { 'content-type': 'text/plain' },
      { 'webhook-id': 'x' },
      { 'X-Webhook-Event': 'x' },
      { 'X-A': 'a\nb' },
      { 'X-A': '' },
      { 'X-A': 'x', 'x-a': 'y' },
    ] as Array<Record<string, string>>)
      assert.throws(() => checkHeaders(h), /header/, JSON.stringify(h));
  });

  test('--since/--until: ISO 8601 or spans back from now', () => {
    const now = () => new Date('2026-12-04T12:00:00Z');
    assert.equal(parseTimeArg('24h', now).toISOString(), '2026-12-03T12:00:00.000Z');
    assert.equal(parseTimeArg('7d', now).toISOString(), '2026-11-27T12:00:00.000Z');
    assert.equal(parseTimeArg('2026-12-01T10:00:00Z', now).toISOString(), '2026-12-01T10:00:00.000Z');
    for (const bad of ['yesterday', '7', '-1d', '2026-13-45'])
      assert.throws(() => parseTimeArg(bad, now), /ISO 8601/, bad);
  });
});
