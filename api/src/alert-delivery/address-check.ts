import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a delivery target may not point at without `allowPrivateAddress`: the API's own
 * machine, its private networks and the overlay, where a target URL would let an operator make
 * the API (or worker) send requests into networks the internet cannot reach.
 */
const RANGES: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['10.0.0.0', 8, 'ipv4', 'private (RFC 1918)'],
  ['172.16.0.0', 12, 'ipv4', 'private (RFC 1918)'],
  ['192.168.0.0', 16, 'ipv4', 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fc00::', 7, 'ipv6', 'private (ULA)'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

export interface AddressPolicy {
  /** API_OVERLAY_CIDR: the devices' WireGuard network. */
  overlayCidr: string;
}

/** Why `address` is refused ('loopback', 'in the overlay network 10.10.0.0/24', …), or null when it is public. */
export function refusedKind(address: string, policy: AddressPolicy): string | null {
  let ip = address;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) reaches the IPv4 address: judge that one.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1]!;
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  // The overlay first: it usually lies inside 10/8, and "overlay" is the more useful name.
  const overlay = parseCidr(policy.overlayCidr);
  if (overlay && overlay.type === type) {
    const list = new BlockList();
    list.addSubnet(overlay.net, overlay.prefix, overlay.type);
    if (list.check(ip, type)) return `in the overlay network ${policy.overlayCidr}`;
  }
  for (const [net, prefix, netType, kind] of RANGES) {
    if (netType !== type) continue;
    const list = new BlockList();
    list.addSubnet(net, prefix, netType);
    if (list.check(ip, type)) return kind;
  }
  return null;
}

function parseCidr(cidr: string): { net: string; prefix: number; type: 'ipv4' | 'ipv6' } | null {
  const [net, bits] = cidr.split('/');
  const family = net ? isIP(net) : 0;
  const prefix = Number(bits);
  if (!net || family === 0 || !Number.isInteger(prefix)) return null;
  return { net, prefix, type: family === 4 ? 'ipv4' : 'ipv6' };
}

/** The hostname of a URL as a resolver or isIP takes it (IPv6 literals lose their brackets). */
export function hostOf(url: string): string {
  const host = new URL(url).hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A refusal for the first forbidden address `host` is or resolves to ("127.0.0.1 is loopback"),
 * or null. DNS failures are refusals too: a target that cannot be checked is not saved.
 */
export async function refusalForHost(host: string, policy: AddressPolicy): Promise<string | null> {
  if (isIP(host) !== 0) {
    const kind = refusedKind(host, policy);
    return kind ? `${host} is ${kind}` : null;
  }
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (error) {
    return `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`;
  }
  for (const { address } of addresses) {
    const kind = refusedKind(address, policy);
    if (kind) return `${host} resolves to ${address}, which is ${kind}`;
  }
  return null;
}
