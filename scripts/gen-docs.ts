/** Regenerates the generated sections of README.md: the configuration table and the exit-code table. */
import { readFileSync, writeFileSync } from 'node:fs';
import { exitCodeTableMarkdown } from '../src/cli/exit-codes.js';
import { configTableMarkdown } from '../src/core/config/docs.js';

export function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${start} … ${end} markers`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

const path = new URL('../../README.md', import.meta.url);
let text = readFileSync(path, 'utf8');
text = replaceSection(text, 'config', configTableMarkdown());
text = replaceSection(text, 'exit-codes', exitCodeTableMarkdown());
writeFileSync(path, text);
console.log('README.md: configuration and exit-code tables regenerated');
