import { readFileSync } from 'node:fs';

/** Janua's version, from package.json (two levels above dist/src/core). */
export const JANUA_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
