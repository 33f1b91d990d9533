/**
 * Outbound safety of webhook deliveries (SSRF guard). A subscription names any URL; without a guard, an
 * organization admin could make the daemon POST to its own loopback services, the private network or a cloud
 * metadata endpoint. Unless WEBHOOK_ALLOW_PRIVATE_TARGETS, the address actually connected to must be public:
 *
 * - the check runs on the RESOLVED address, inside the connector's DNS lookup (and on IP literals, which
 *   Node's connect never looks up), so a hostname that resolves to 127.0.0.1 — or one whose DNS answer changes
 *   between a check and the connect (DNS rebinding) — cannot slip past: the address checked is the address used;
 * - refused: unspecified, loopback, RFC 1918 private, CGNAT (RFC 6598 100.64/10), link-local (169.254/16 with
 *   the metadata address 169.254.169.254, fe80::/10), unique-local fc00::/7 (with AWS's fd00:ec2::254),
 *   multicast, the reserved 240/4 with broadcast, and IPv6 forms embedding an IPv4 address (IPv4-mapped
 *   ::ffff:0:0/96, NAT64 64:ff9b::/96, the deprecated IPv4-compatible ::/96) judged by that IPv4 address.
 *
 * Node's `net.BlockList` does the matching: no dependency for a few prefixes.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { buildConnector } from 'undici';

const V4: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
];
const V6: ReadonlyArray<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local (private)'],
  ['fe80::', 10, 'link-local'],
  ['ff00::', 8, 'multicast'],
];
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254']);

const lists = new Map<string, BlockList>();
function listOf(why: string): BlockList {
  let l = lists.get(why);
  if (!l) {
    l = new BlockList();
    lists.set(why, l);
  }
  return l;
}
for (const [a, p, why] of V4) listOf(why).addSubnet(a, p, 'ipv4');
for (const [a, p, why] of V6) listOf(why).addSubnet(a, p, 'ipv6');

/** The IPv4 address an IPv6 address embeds (mapped, NAT64, compatible), if any. */
function embeddedV4(v6: string): string | undefined {
  const lower = v6.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::|::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::|::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return undefined;
  const hi = Number.parseInt(hex[1]!, 16);
  const lo = Number.parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why this address may not be connected to, or undefined when it is a public address. */
export function blockedReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (METADATA.has(address.toLowerCase())) return 'cloud metadata';
  if (family === 6) {
    const v4 = embeddedV4(address);
    if (v4 !== undefined) {
      const inner = blockedReason(v4);
      return inner && `${inner} (IPv4 inside IPv6)`;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [why, list] of lists) if (list.check(address, type)) return why;
  return undefined;
}

export class BlockedTargetError extends Error {
  readonly code = 'WEBHOOK_TARGET_BLOCKED';
  constructor(host: string, address: string, why: string) {
    super(
      `refused to connect to ${host === address ? address : `${host} (${address})`}: a ${why} address; private targets are not allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS=false)`,
    );
    this.name = 'BlockedTargetError';
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup, refusing every answer holding a blocked address (the one Node then connects to). */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    for (const a of addresses) {
      const why = blockedReason(a.address);
      if (why) return callback(new BlockedTargetError(hostname, a.address, why) as NodeJS.ErrnoException, '');
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first)
      return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
    callback(null, first.address, first.family);
  });
}

/**
 * undici's connector with the guard: IP literals are checked here (Node does not look them up), names in
 * `guardedLookup`. With `allowPrivate` it is undici's plain connector.
 */
export function guardedConnector(opts: {
  connectTimeoutMs: number;
  allowPrivate: boolean;
}): buildConnector.connector {
  const base = buildConnector({
    timeout: opts.connectTimeoutMs,
    ...(opts.allowPrivate ? {} : { lookup: guardedLookup }),
  } as buildConnector.BuildOptions);
  if (opts.allowPrivate) return base;
  return (options, callback) => {
    // URL hostnames keep IPv6 literals in brackets.
    const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host)) {
      const why = blockedReason(host);
      if (why) {
        callback(new BlockedTargetError(host, host, why), null);
        return;
      }
    }
    base(options, callback);
  };
}
