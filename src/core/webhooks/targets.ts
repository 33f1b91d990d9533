/**
 * What an endpoint may be: its URL and its custom headers, checked when it is created or changed.
 *
 * The private-address check here is early feedback only (a literal `127.0.0.1` or `localhost` is refused at
 * once); the delivery side checks the address actually connected to, so a name that resolves to a private
 * address (DNS rebinding) is refused there.
 */
import { BlockList, isIP } from 'node:net';
import { validation } from '../errors.js';
import { breaksTextRule } from '../text.js';

export const MAX_URL_LENGTH = 2048;
export const MAX_DESCRIPTION_LENGTH = 500;
export const MAX_HEADERS = 20;
const MAX_HEADER_NAME = 100;
const MAX_HEADER_VALUE = 1000;

/** Loopback, private (RFC 1918, RFC 4193), link-local (incl. cloud metadata 169.254.169.254), CGNAT, reserved. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** Whether an IP literal is one a webhook must not reach by default (IPv4-mapped IPv6 checked as IPv4). */
export function isPrivateAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) return PRIVATE.check(ip, 'ipv4');
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
    if (hex) {
      const hi = Number.parseInt(hex[1]!, 16);
      const lo = Number.parseInt(hex[2]!, 16);
      return PRIVATE.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
    }
    return PRIVATE.check(ip, 'ipv6');
  }
  return false;
}

const badUrl = (detail: string) => validation(detail, { url: 'invalid' });

/** Checks an endpoint URL; answers it normalized (WHATWG URL serialization). */
export function checkEndpointUrl(raw: string, allowPrivate: boolean): string {
  if (typeof raw !== 'string' || raw.length === 0) throw badUrl('url is required');
  if (raw.length > MAX_URL_LENGTH) throw badUrl(`url must be at most ${MAX_URL_LENGTH} characters`);
  if (breaksTextRule(raw, 'single-line') || /\s/.test(raw))
    throw badUrl('url must not contain whitespace or control characters');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badUrl('url must be an absolute http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw badUrl('url must be an absolute http:// or https:// URL');
  if (u.username || u.password)
    throw badUrl('url must not carry credentials (user:password@); use a custom header instead');
  if (!u.hostname) throw badUrl('url must name a host');
  if (!allowPrivate) {
    const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host))
      throw badUrl(
        'url points at a loopback, private, link-local or metadata address; refused (WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows it)',
      );
  }
  const out = u.toString();
  if (out.length > MAX_URL_LENGTH) throw badUrl(`url must be at most ${MAX_URL_LENGTH} characters`);
  return out;
}

export function checkDescription(d: string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  if (d.length > MAX_DESCRIPTION_LENGTH)
    throw validation(`description must be at most ${MAX_DESCRIPTION_LENGTH} characters`, {
      description: 'too long',
    });
  if (breaksTextRule(d, 'multi-line'))
    throw validation('description must not contain control characters', { description: 'invalid' });
  return d.trim() === '' ? null : d;
}

/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** RFC 9110 §5.5 field value: visible characters, spaces and tabs inside; no CR, LF or NUL. */
const FIELD_VALUE = /^[\x21-\x7e\x80-\uffff]([\t\x20-\x7e\x80-\uffff]*[\x21-\x7e\x80-\uffff])?$/;
/**
 * Headers a subscription may not set: hop-by-hop ones (RFC 9110 §7.6.1), the ones the transport computes, and
 * the signature headers of both schemes (a custom header must never be able to forge or shadow them).
 */
const RESERVED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
]);

const badHeader = (detail: string) => validation(detail, { headers: 'invalid' });

export function checkHeaders(h: Record<string, string> | null | undefined): Record<string, string> {
  if (h === null || h === undefined) return {};
  if (typeof h !== 'object' || Array.isArray(h)) throw badHeader('headers must be an object of strings');
  const entries = Object.entries(h);
  if (entries.length > MAX_HEADERS) throw badHeader(`headers may hold at most ${MAX_HEADERS} entries`);
  const seen = new Set<string>();
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (name.length > MAX_HEADER_NAME || !TOKEN.test(name))
      throw badHeader(`header names must be HTTP tokens of at most ${MAX_HEADER_NAME} characters`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower) || lower.startsWith('webhook-') || lower.startsWith('x-webhook-'))
      throw badHeader(`header ${name} is set by Janua and may not be customized`);
    if (seen.has(lower)) throw badHeader(`header ${name} is given twice`);
    seen.add(lower);
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE || !FIELD_VALUE.test(value))
      throw badHeader(
        `header ${name}: values must be 1–${MAX_HEADER_VALUE} visible characters (no line breaks or control characters)`,
      );
    out[name] = value;
  }
  return out;
}
