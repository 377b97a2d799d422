/**
 * The egress guard's decision: may a webhook be sent to this IP address? Pure functions, so every
 * range is tested without sending a packet; egress-connector.ts applies them at connect time.
 *
 * Denied by default: every address that is not plainly on the public internet (loopback,
 * unspecified, private, link-local with the cloud metadata address, CGNAT, benchmarking,
 * multicast, broadcast, reserved, documentation), and IPv6 forms that embed a denied IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo). DELIVERY_ALLOW_NETWORKS exempts chosen
 * networks on purpose (internal receivers, tests). Address math is ipaddr.js's.
 */
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import { ConfigError } from '../errors.ts';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

function cidr(text: string): Cidr {
  return ipaddr.parseCIDR(text);
}

// First match wins (insertion order): the specific IPv6 forms come before the wider ones.
const DENIED: Readonly<Record<string, Cidr[]>> = {
  unspecified: [cidr('0.0.0.0/8'), cidr('::/128')],
  loopback: [cidr('127.0.0.0/8'), cidr('::1/128')],
  private: [cidr('10.0.0.0/8'), cidr('172.16.0.0/12'), cidr('192.168.0.0/16'), cidr('fc00::/7'), cidr('fec0::/10')],
  'link-local': [cidr('169.254.0.0/16'), cidr('fe80::/10')],
  cgnat: [cidr('100.64.0.0/10')],
  benchmarking: [cidr('198.18.0.0/15'), cidr('2001:2::/48')],
  multicast: [cidr('224.0.0.0/4'), cidr('ff00::/8')],
  // 240/4 includes the limited broadcast address 255.255.255.255.
  reserved: [cidr('240.0.0.0/4'), cidr('192.0.0.0/24'), cidr('192.88.99.0/24'), cidr('100::/64'), cidr('64:ff9b:1::/48')],
  documentation: [cidr('192.0.2.0/24'), cidr('198.51.100.0/24'), cidr('203.0.113.0/24'), cidr('2001:db8::/32'), cidr('3fff::/20')],
};

// IPv6 prefixes whose addresses carry an IPv4 address: allowed only if that IPv4 address is.
const EMBEDDING: Readonly<Record<string, Cidr>> = {
  'IPv4-mapped': cidr('::ffff:0:0/96'),
  'IPv4-compatible': cidr('::/96'),
  NAT64: cidr('64:ff9b::/96'),
  '6to4': cidr('2002::/16'),
  Teredo: cidr('2001::/32'),
};

/** What the guard decided for one address. `reason` names the range, e.g. `loopback`. */
export type EgressDecision = { allowed: true } | { allowed: false; address: string; reason: string };

export interface EgressGuard {
  /** The allow-list as configured (canonical CIDR text), for the start-up log line. */
  readonly allowedNetworks: readonly string[];
  /** Decides for an IP address in any spelling `net.isIP` accepts; a non-IP string is denied. */
  check(address: string): EgressDecision;
}

/**
 * Parses DELIVERY_ALLOW_NETWORKS items: CIDRs (`10.20.0.0/16`, `fd00::/8`) or single addresses
 * (taken as /32 or /128). IPv4 must be four-part decimal, so `10.1/16` cannot mean something else
 * than it seems. Throws `ConfigError` naming `variable`.
 */
export function parseAllowNetworks(items: readonly string[], variable = 'DELIVERY_ALLOW_NETWORKS'): Cidr[] {
  return items.map((item) => {
    const text = item.includes('/') ? item : `${item}/${isIP(item) === 6 ? 128 : 32}`;
    const base = text.slice(0, text.lastIndexOf('/'));
    const valid = ipaddr.IPv4.isValidFourPartDecimal(base) ? ipaddr.IPv4.isValidCIDR(text) : ipaddr.IPv6.isValidCIDR(text);
    if (!valid) throw new ConfigError(variable, `${JSON.stringify(item)} is not a CIDR such as 10.20.0.0/16 or fd00::/8`);
    const [addr, bits] = ipaddr.parseCIDR(text);
    // A mapped IPv6 network is the IPv4 network it maps: connections are checked as IPv4.
    if (addr.kind() === 'ipv6' && bits >= 96 && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  });
}

/** DELIVERY_ALLOW_NETWORKS text (comma-separated) as canonical CIDR strings; throws `ConfigError` naming `variable`. */
export function canonicalAllowNetworks(text: string, variable: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return parseAllowNetworks(items, variable).map(([addr, bits]) => `${addr.toString()}/${bits}`);
}

/** Creates a guard that denies the ranges above except the networks in `allow`. */
export function createEgressGuard(allow: readonly Cidr[] = []): EgressGuard {
  const allowedNetworks = allow.map(([addr, bits]) => `${addr.toString()}/${bits}`);
  const isAllowed = (addr: Address): boolean => allow.some((net) => net[0].kind() === addr.kind() && addr.match(net));

  function decide(addr: Address, spelled: string, depth: number): EgressDecision {
    if (isAllowed(addr)) return { allowed: true };
    const range = ipaddr.subnetMatch(addr, DENIED, 'public');
    if (range !== 'public') return { allowed: false, address: spelled, reason: range };
    if (addr.kind() === 'ipv6' && depth === 0) {
      for (const [form, net] of Object.entries(EMBEDDING)) {
        if (!addr.match(net)) continue;
        for (const v4 of embeddedIPv4(addr as ipaddr.IPv6, form)) {
          const inner = decide(v4, spelled, 1);
          if (!inner.allowed) return { allowed: false, address: spelled, reason: `${form} ${v4.toString()}, ${inner.reason}` };
        }
      }
    }
    return { allowed: true };
  }

  function check(address: string): EgressDecision {
    const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
    // Only what the socket layer takes as an IP literal is one here: ipaddr.js also parses
    // shorthand like `127.1`, which the URL parser has already normalised before it gets here.
    if (isIP(text) === 0) return { allowed: false, address, reason: 'not an IP address' };
    let addr: Address = ipaddr.parse(text);
    // An IPv4-mapped address is that IPv4 host: the allow-list and the ranges apply as IPv4.
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    return decide(addr, text, 0);
  }

  return { allowedNetworks, check };
}

function embeddedIPv4(addr: ipaddr.IPv6, form: string): ipaddr.IPv4[] {
  const p = addr.parts;
  const v4 = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (form) {
    case '6to4':
      return [v4(p[1]!, p[2]!)];
    case 'Teredo':
      // Server address in plain, client address XOR-ed with ones (RFC 4380): both are reached.
      return [v4(p[2]!, p[3]!), v4(p[6]! ^ 0xffff, p[7]! ^ 0xffff)];
    default:
      return [v4(p[6]!, p[7]!)];
  }
}

/** The message of a blocked attempt: names the address, the range and the setting that exempts it. */
export function blockedMessage(host: string, decision: Extract<EgressDecision, { allowed: false }>): string {
  const via = host === decision.address ? '' : ` (${host} resolves to it)`;
  return `blocked by the egress guard: ${decision.address}${via} is ${decision.reason}; add its network to DELIVERY_ALLOW_NETWORKS to allow it`;
}
