/** README's generated tables stay equal to the code they document (`npm run docs` regenerates them). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { exitCodeTableMarkdown } from '../../src/cli/exit-codes.js';
import { configTableMarkdown } from '../../src/core/config/docs.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

function section(name: string): string {
  const body = readme.split(`<!-- ${name}:start -->`)[1]?.split(`<!-- ${name}:end -->`)[0];
  assert.ok(body, `README has a ${name} section`);
  return body.trim();
}

test('README configuration table is generated from the config schema', () => {
  assert.equal(
    section('config'),
    configTableMarkdown(),
    'run `npm run docs` after changing src/core/config/schema.ts',
  );
});

test('README exit-code table matches the CLI exit codes', () => {
  assert.equal(
    section('exit-codes'),
    exitCodeTableMarkdown(),
    'run `npm run docs` after changing src/cli/exit-codes.ts',
  );
});

test('README quick start is the two documented commands', () => {
  assert.match(readme, /```sh\n\.\/install\.sh && janua serve\nnpm test\n```/);
});
