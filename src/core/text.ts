/**
 * Which characters text from outside may carry. Control characters (Unicode general category Cc: the C0 set
 * U+0000–U+001F, DEL U+007F and the C1 set U+0080–U+009F) are never meant in an email, a slug, a name or an id:
 * NUL is refused by PostgreSQL in any text value (SQLite would store it, so the two dialects would disagree),
 * and the others end up in logs and in the tables `janua` prints to an operator's terminal, where ESC starts
 * an escape sequence. So:
 *
 * - single-line text (the default for every string field) carries no control character at all;
 * - multi-line free text (a description, the maintenance message) may carry TAB, LF and CR, and no other;
 * - free JSON that belongs to the application (`user_metadata`, organization `metadata`) may carry anything
 *   but NUL, which PostgreSQL's jsonb refuses as well (`\u0000`).
 *
 * The patterns are JSON Schema `pattern`s (the daemon puts them in its OpenAPI document); the regular
 * expressions find the first offending character.
 */
import { validation } from './errors.js';

export type TextKind = 'single-line' | 'multi-line';

/** The characters each kind of text may not carry, as the inside of a regular-expression class. */
const CONTROLS: Record<TextKind, string> = {
  'single-line': '\\u0000-\\u001F\\u007F-\\u009F',
  'multi-line': '\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F',
};

/** JSON Schema patterns (ECMA-262 syntax, JSON Schema 2020-12 validation §6.3.3) of each kind of text. */
export const TEXT_PATTERNS: Record<TextKind, string> = {
  'single-line': `^[^${CONTROLS['single-line']}]*$`,
  'multi-line': `^[^${CONTROLS['multi-line']}]*$`,
};

/** What a request is told when a field breaks its kind's rule. */
export const TEXT_RULES: Record<TextKind | 'nul', string> = {
  'single-line': 'must not contain control characters (U+0000–U+001F, U+007F–U+009F)',
  'multi-line': 'must not contain control characters other than tab, line feed and carriage return',
  nul: 'must not contain the NUL character (U+0000)',
};

const FORBIDDEN: Record<TextKind, RegExp> = {
  'single-line': new RegExp(`[${CONTROLS['single-line']}]`, 'u'),
  'multi-line': new RegExp(`[${CONTROLS['multi-line']}]`, 'u'),
};

/** Whether `s` breaks the rule of its kind. */
export function breaksTextRule(s: string, kind: TextKind): boolean {
  return FORBIDDEN[kind].test(s);
}

export function hasNul(s: string): boolean {
  return s.includes('\u0000');
}

/** The error for a value that breaks a rule, naming the field (never echoing the value). */
export function textRuleError(field: string, rule: TextKind | 'nul', where?: string) {
  const detail = `${where ? `Invalid ${where}: ` : ''}${field} ${TEXT_RULES[rule]}`;
  return validation(detail, { [field]: TEXT_RULES[rule] });
}

/** A key fit for a message: control characters are shown as `\uXXXX` escapes, never as themselves. */
export function printable(key: string): string {
  if (!breaksTextRule(key, 'single-line')) return key;
  return [...key]
    .map((c) =>
      breaksTextRule(c, 'single-line') ? `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}` : c,
    )
    .join('');
}

interface Step {
  value: unknown;
  key: string;
  parent: Step | undefined;
}

function pathOf(step: Step): string {
  const keys: string[] = [];
  for (let s: Step | undefined = step; s?.parent; s = s.parent) keys.unshift(printable(s.key));
  return keys.join('.');
}

/**
 * Where the first NUL in a JSON value is — in a string or in an object key, at any depth — as a dotted path
 * (`user_metadata.tags.2`; '' for the value itself), or undefined when there is none. Iterative, with parent
 * links instead of copied paths, so a deeply nested value costs linear time and no call stack.
 */
export function nulPath(value: unknown): string | undefined {
  const stack: Step[] = [{ value, key: '', parent: undefined }];
  while (stack.length) {
    const step = stack.pop()!;
    const v = step.value;
    if (typeof v === 'string') {
      if (hasNul(v)) return pathOf(step);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: String(i), parent: step });
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!;
        const child = { value: item, key, parent: step };
        if (hasNul(key)) return pathOf(child);
        stack.push(child);
      }
    }
  }
  return undefined;
}
