/**
 * The messages Janua sends, each as plain text and HTML (multipart/alternative, RFC 2046 §5.1.4: the text part
 * first, for clients that show no HTML). Every variable is HTML-escaped in the HTML part; links must be http(s)
 * so no `javascript:` URL reaches an href. Wording stays plain: no tracking, no remote images.
 */
import { validation } from '../errors.js';

export const MAIL_TEMPLATES = [
  'verify_email',
  'password_reset',
  'magic_link',
  'email_change_confirm',
  'email_change_notice',
  'password_changed',
  'test',
] as const;
export type MailTemplate = (typeof MAIL_TEMPLATES)[number];

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

/** Templates whose message carries a one-time link (`vars.link` is required). */
const LINKED = new Set<MailTemplate>([
  'verify_email',
  'password_reset',
  'magic_link',
  'email_change_confirm',
]);

interface Spec {
  subject: (v: Vars) => string;
  /** Paragraphs before the link (if any). */
  intro: (v: Vars) => string[];
  /** The link's button text (templates with a link). */
  action?: string;
  /** Paragraphs after the link. */
  outro: (v: Vars) => string[];
}

type Vars = Record<string, string> & { product_name: string };

function expiry(v: Vars): string[] {
  return v['expires_in']
    ? [`The link expires in ${v['expires_in']} and works once.`]
    : ['The link works once.'];
}

const SPECS: Record<MailTemplate, Spec> = {
  verify_email: {
    subject: (v) => `Confirm your email address for ${v.product_name}`,
    intro: (v) => [`Confirm the email address of your ${v.product_name} account by opening this link:`],
    action: 'Confirm email address',
    outro: (v) => [...expiry(v), 'If you did not create an account, ignore this message.'],
  },
  password_reset: {
    subject: (v) => `Reset your ${v.product_name} password`,
    intro: (v) => [
      `Someone asked to reset the password of your ${v.product_name} account. Choose a new password here:`,
    ],
    action: 'Choose a new password',
    outro: (v) => [
      ...expiry(v),
      'If you did not ask for this, ignore this message: your password stays as it is.',
    ],
  },
  magic_link: {
    subject: (v) => `Your ${v.product_name} sign-in link`,
    intro: (v) => [`Open this link to sign in to ${v.product_name}:`],
    action: 'Sign in',
    outro: (v) => [...expiry(v), 'If you did not ask to sign in, ignore this message.'],
  },
  email_change_confirm: {
    subject: (v) => `Confirm your new email address for ${v.product_name}`,
    intro: (v) => [
      `Someone asked to make this address the email address of a ${v.product_name} account. Confirm it here:`,
    ],
    action: 'Confirm new email address',
    outro: (v) => [...expiry(v), 'If you did not ask for this, ignore this message: nothing changes.'],
  },
  email_change_notice: {
    subject: (v) => `Your ${v.product_name} email address is being changed`,
    intro: (v) => [
      v['new_email']
        ? `Someone asked to change the email address of your ${v.product_name} account to ${v['new_email']}.`
        : `Someone asked to change the email address of your ${v.product_name} account.`,
      'The change happens only once it is confirmed from the new address.',
    ],
    outro: () => ['If this was not you, change your password now: someone may know it.'],
  },
  password_changed: {
    subject: (v) => `Your ${v.product_name} password was changed`,
    intro: (v) => [`The password of your ${v.product_name} account was just changed.`],
    outro: () => ['If this was not you, reset your password now and review your sessions.'],
  },
  test: {
    subject: (v) => `${v.product_name} test message`,
    intro: (v) => [`This is a test message from ${v.product_name}: mail delivery works.`],
    outro: () => [],
  },
};

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** One line for a header: no CR/LF (header injection), trimmed. */
export function headerSafe(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

function checkLink(link: string | undefined, template: MailTemplate): string {
  if (!link) throw validation(`mail template ${template} needs a link`);
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw validation(`mail link is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw validation('mail link must be http(s)');
  return url.href;
}

export function isMailTemplate(v: string): v is MailTemplate {
  return (MAIL_TEMPLATES as readonly string[]).includes(v);
}

/** Renders `template` with `vars` (which include `product_name`). */
export function render(template: MailTemplate, vars: Vars): Rendered {
  const spec = SPECS[template];
  if (!spec) throw validation(`unknown mail template ${String(template)}`);
  const link = LINKED.has(template) ? checkLink(vars['link'], template) : undefined;
  const intro = spec.intro(vars);
  const outro = spec.outro(vars);
  const text = [
    'Hello,',
    '',
    ...intro.flatMap((p) => [p, '']),
    ...(link ? [link, ''] : []),
    ...outro.flatMap((p) => [p, '']),
    `— ${vars.product_name}`,
    '',
  ].join('\n');
  const para = (p: string) => `<p>${escapeHtml(p)}</p>`;
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family: sans-serif; line-height: 1.5;">',
    '<p>Hello,</p>',
    ...intro.map(para),
    ...(link
      ? [
          `<p><a href="${escapeHtml(link)}">${escapeHtml(spec.action ?? link)}</a></p>`,
          `<p style="font-size: small;">Or paste this address into your browser: ${escapeHtml(link)}</p>`,
        ]
      : []),
    ...outro.map(para),
    `<p>— ${escapeHtml(vars.product_name)}</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { subject: headerSafe(spec.subject(vars)), text, html };
}
