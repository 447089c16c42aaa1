// IPv4 arithmetic on unsigned 32-bit numbers. Only canonical dotted quads are accepted
// (no leading zeros, no shorthand), so an address has exactly one string form.

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== null;
}

/** Network mask of a prefix length, as an unsigned number. */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

export interface Ipv4Cidr {
  network: number;
  prefixLength: number;
}

/** `a.b.c.d/n`; null unless well-formed. Host bits may be set (check with `hasHostBits`). */
export function parseCidr(text: string): (Ipv4Cidr & { address: number }) | null {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return null;
  const address = parseIpv4(match[1] ?? '');
  const prefixLength = Number(match[2]);
  if (address === null || prefixLength > 32 || String(prefixLength) !== match[2]) return null;
  return { address, network: (address & prefixMask(prefixLength)) >>> 0, prefixLength };
}

export function broadcastOf(cidr: Ipv4Cidr): number {
  return (cidr.network | ~prefixMask(cidr.prefixLength)) >>> 0;
}

/** Canonical IPv4 CIDR with no host bits set, e.g. `10.10.0.21/32`. */
export function isCanonicalCidr(text: string): boolean {
  const cidr = parseCidr(text);
  return cidr !== null && cidr.address === cidr.network;
}
