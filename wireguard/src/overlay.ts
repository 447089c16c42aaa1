// Overlay addressing: the CIDR, the hub address and the address pools, plus allocation.
// Pure functions; the caller (the API) owns persistence and decides what counts as taken.
import { broadcastOf, formatIpv4, parseCidr, parseIpv4, type Ipv4Cidr } from './ipv4.js';

export type PoolName = 'internal' | 'customer' | 'reserved' | 'recovery';
export const POOL_NAMES: readonly PoolName[] = ['internal', 'customer', 'reserved', 'recovery'];

export interface OverlayConfig {
  cidr: string;
  prefixLength: number;
  hubAddress: string;
  pools: Record<PoolName, { first: string; last: string }>;
}

export type OverlayConfigInput = Partial<{ cidr: string; hubAddress: string; pools: Partial<Record<PoolName, string>> }>;

export const DEFAULT_OVERLAY = {
  cidr: '10.10.0.0/24',
  hubAddress: '10.10.0.1',
  pools: {
    internal: '10.10.0.10-10.10.0.19',
    customer: '10.10.0.20-10.10.0.99',
    reserved: '10.10.0.100-10.10.0.199',
    recovery: '10.10.0.200-10.10.0.249',
  },
} as const satisfies Required<OverlayConfigInput>;

export class OverlayConfigError extends Error {
  override name = 'OverlayConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid overlay config: ${problems.join('; ')}`);
  }
}

export class PoolExhaustedError extends Error {
  override name = 'PoolExhaustedError';
  constructor(
    readonly pool: PoolName,
    readonly size: number,
  ) {
    super(`overlay pool '${pool}' is exhausted: all ${size} addresses are in use or quarantined`);
  }
}

interface Range {
  first: number;
  last: number;
}

function parseRange(text: unknown): Range | string {
  if (typeof text !== 'string') return 'must be a string "first-last"';
  const [first, last, ...rest] = text.split('-').map((part) => part.trim());
  const a = parseIpv4(first ?? '');
  const b = parseIpv4(last ?? '');
  if (rest.length > 0 || a === null || b === null) return `'${text}' is not an IPv4 range "a.b.c.d-a.b.c.d"`;
  if (a > b) return `'${text}' starts after it ends`;
  return { first: a, last: b };
}

const show = (r: Range) => `${formatIpv4(r.first)}-${formatIpv4(r.last)}`;

function parseNetwork(text: string, problems: string[]): Ipv4Cidr | null {
  const cidr = parseCidr(text);
  if (text.includes(':')) problems.push(`cidr '${text}': IPv4 only`);
  else if (!cidr) problems.push(`cidr '${text}' is not an IPv4 CIDR "a.b.c.d/n"`);
  else if (cidr.address !== cidr.network)
    problems.push(`cidr '${text}' has host bits set (network is ${formatIpv4(cidr.network)}/${cidr.prefixLength})`);
  else if (cidr.prefixLength < 8 || cidr.prefixLength > 30) problems.push(`cidr '${text}': prefix length must be 8-30`);
  else return cidr;
  return null;
}

/** Defaults: cidr 10.10.0.0/24, hub 10.10.0.1, internal .10-.19, customer .20-.99, reserved .100-.199, recovery .200-.249. */
export function parseOverlayConfig(input: OverlayConfigInput = {}): OverlayConfig {
  const problems: string[] = [];
  const cidrText = input.cidr ?? DEFAULT_OVERLAY.cidr;
  const hubText = input.hubAddress ?? DEFAULT_OVERLAY.hubAddress;
  const cidr = parseNetwork(cidrText, problems);
  const hub = parseIpv4(hubText);
  const usable = cidr && { first: cidr.network + 1, last: broadcastOf(cidr) - 1 };
  if (hub === null) problems.push(`hub address '${hubText}' is not an IPv4 address`);
  else if (usable && (hub < usable.first || hub > usable.last))
    problems.push(`hub address ${hubText} is not a host address of ${cidrText}`);

  const ranges: Partial<Record<PoolName, Range>> = {};
  for (const pool of POOL_NAMES) {
    const range = parseRange(input.pools?.[pool] ?? DEFAULT_OVERLAY.pools[pool]);
    if (typeof range === 'string') {
      problems.push(`pool ${pool}: ${range}`);
      continue;
    }
    if (usable && (range.first < usable.first || range.last > usable.last))
      problems.push(`pool ${pool} (${show(range)}) is not inside the host addresses of ${cidrText}`);
    if (hub !== null && hub >= range.first && hub <= range.last) problems.push(`pool ${pool} (${show(range)}) contains the hub ${hubText}`);
    for (const other of POOL_NAMES) {
      const seen = ranges[other];
      if (seen && range.first <= seen.last && seen.first <= range.last)
        problems.push(`pool ${pool} (${show(range)}) overlaps pool ${other} (${show(seen)})`);
    }
    ranges[pool] = range;
  }
  if (problems.length > 0 || !cidr || hub === null) throw new OverlayConfigError(problems);

  const pools = Object.fromEntries(
    POOL_NAMES.map((pool) => {
      const range = ranges[pool] as Range;
      return [pool, { first: formatIpv4(range.first), last: formatIpv4(range.last) }];
    }),
  ) as OverlayConfig['pools'];
  return { cidr: `${formatIpv4(cidr.network)}/${cidr.prefixLength}`, prefixLength: cidr.prefixLength, hubAddress: formatIpv4(hub), pools };
}

function poolRange(config: OverlayConfig, pool: PoolName): Range {
  const bounds = config.pools[pool];
  const first = parseIpv4(bounds?.first ?? '');
  const last = parseIpv4(bounds?.last ?? '');
  if (first === null || last === null) throw new OverlayConfigError([`pool ${pool} is not configured`]);
  return { first, last };
}

/** Lowest free address of the pool not in `taken` (taken = in use OR still quarantined; the caller decides). */
export function allocateAddress(config: OverlayConfig, pool: PoolName, taken: ReadonlySet<string>): string {
  const range = poolRange(config, pool);
  for (let value = range.first; value <= range.last; value++) {
    const address = formatIpv4(value);
    if (!taken.has(address) && address !== config.hubAddress) return address;
  }
  throw new PoolExhaustedError(pool, range.last - range.first + 1);
}

/** The pool an address belongs to; null for the hub, other addresses and malformed input. */
export function poolOf(config: OverlayConfig, address: string): PoolName | null {
  const value = parseIpv4(address);
  if (value === null) return null;
  return (
    POOL_NAMES.find((pool) => {
      const range = poolRange(config, pool);
      return value >= range.first && value <= range.last;
    }) ?? null
  );
}

/** True while a released address must not be handed out again. Invalid dates count as quarantined. */
export function isQuarantined(releasedAt: Date, now: Date, quarantineMs: number): boolean {
  const elapsed = now.getTime() - releasedAt.getTime();
  if (Number.isNaN(elapsed)) return true;
  return elapsed < quarantineMs;
}
