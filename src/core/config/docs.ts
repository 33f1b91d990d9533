import { OPTIONS, type OptionSpec } from './schema.js';

function defaultText(o: OptionSpec): string {
  if (o.derivedDefault) return o.derivedDefault;
  if (o.default === undefined) return '—';
  if (Array.isArray(o.default)) return o.default.length ? `\`${o.default.join(',')}\`` : '(empty)';
  return `\`${String(o.default)}\``;
}

/** README's configuration table, generated from the schema (`npm run docs:config`; a test keeps it current). */
export function configTableMarkdown(): string {
  const rows = OPTIONS.map((o) => {
    const flag = o.flag
      ? o.type === 'bool' && o.default === true
        ? `\`--no-${o.flag}\``
        : `\`--${o.flag}\``
      : '';
    const doc = `${o.doc}${o.secret ? ' *Secret: never logged or shown.*' : ''}`.replace(/\|/g, '\\|');
    return `| \`${o.env}\` | \`${o.key}\` | ${flag} | ${defaultText(o)} | ${doc} |`;
  });
  return [
    '| Environment | Config file key | Flag | Default | Meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
