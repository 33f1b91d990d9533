/** Keeps README's error table and the ErrorCode union equal in both directions (fastify's errors.test habit). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_STATUS } from '../../src/core/errors.js';

const README = new URL('../../../README.md', import.meta.url);

function readmeErrorTable(): Map<string, number> {
  const text = readFileSync(README, 'utf8');
  const section = text.split('<!-- errors:start -->')[1]?.split('<!-- errors:end -->')[0];
  assert.ok(section, 'README has an errors table between <!-- errors:start --> and <!-- errors:end -->');
  const rows = new Map<string, number>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*(\d{3})\s*\|\s*`?([A-Z_]+)`?\s*\|/.exec(line);
    if (m) rows.set(m[2]!, Number(m[1]));
  }
  return rows;
}

test('every error code in the code is documented in README with its status', () => {
  const documented = readmeErrorTable();
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.equal(documented.get(code), status, `README documents ${code} as ${status}`);
  }
});

test('README documents no error code the code does not have', () => {
  for (const code of readmeErrorTable().keys()) {
    assert.ok(code in ERROR_STATUS, `${code} in README exists in src/core/errors.ts`);
  }
});
