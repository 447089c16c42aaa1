// Who the client is, for the console server's proxy to the API (server.mjs). Pure: no I/O.
// X-Forwarded-For is believed only from a trusted proxy (CONSOLE_TRUST_PROXY), and then walked
// from the right: the client is the right-most address that is not itself a trusted proxy.
// Everything to the left of it was written by the client and is never passed on.
import { BlockList, isIP } from 'node:net';

/** Named ranges, as the API's API_TRUST_PROXY (Fastify, proxy-addr) knows them. */
const NAMED = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** `::ffff:192.0.2.1` (a dual-stack socket's IPv4 peer) → `192.0.2.1`; `[::1]` → `::1`; invalid → null. */
export function normalizeAddress(value) {
  if (typeof value !== 'string') return null;
  let address = value.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) address = mapped[1];
  return isIP(address) ? address.toLowerCase() : null;
}

/**
 * Parses a trust setting: `none` (or `false`), or a comma-separated list of addresses, CIDRs and
 * the names `loopback`, `linklocal`, `uniquelocal`. Throws naming every bad entry.
 * @returns {(address: string) => boolean}
 */
export function parseTrustedProxies(setting) {
  const entries = String(setting)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const list = new BlockList();
  if (entries.length === 1 && (entries[0] === 'none' || entries[0] === 'false')) return () => false;
  const bad = [];
  for (const entry of entries.flatMap((e) => NAMED[e] ?? [e])) {
    const [rawAddress, prefix, ...rest] = entry.split('/');
    const address = normalizeAddress(rawAddress);
    const family = address ? `ipv${isIP(address)}` : null;
    const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!address || rest.length > 0 || !(bits >= 0 && bits <= (family === 'ipv4' ? 32 : 128))) {
      bad.push(entry);
      continue;
    }
    list.addSubnet(address, bits, family);
  }
  if (bad.length > 0) throw new Error(`not an address, CIDR, none, loopback, linklocal or uniquelocal: ${bad.join(', ')}`);
  if (entries.length === 0) throw new Error('empty: use none to trust no proxy');
  return (address) => {
    const normalized = normalizeAddress(address);
    return normalized !== null && list.check(normalized, `ipv${isIP(normalized)}`);
  };
}

/**
 * The client's address: the TCP peer, unless the peer is a trusted proxy; then the right-most
 * X-Forwarded-For entry that is not a trusted proxy (an unparsable entry ends the walk at the
 * trusted hop to its right, which then counts as the client).
 */
export function clientAddress(peer, forwardedFor, trusted) {
  let client = normalizeAddress(peer) ?? '';
  if (!client || !trusted(client) || typeof forwardedFor !== 'string') return client;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]);
    if (hop === null) break;
    client = hop;
    if (!trusted(hop)) break;
  }
  return client;
}

/**
 * The X-Forwarded-* headers the console sends to the API: For is only the client's address
 * (the API then needs to trust only the console, not every hop in front of it); Proto and Host
 * come from a trusted proxy when it sent them (it terminated TLS), else from this connection.
 */
export function forwardedHeadersFor({ peer, encrypted, headers }, trusted) {
  const fromTrustedProxy = trusted(peer ?? '');
  const single = (value) => (typeof value === 'string' ? value.split(',')[0].trim() : '');
  const proto = fromTrustedProxy ? single(headers['x-forwarded-proto']).toLowerCase() : '';
  const host = fromTrustedProxy ? single(headers['x-forwarded-host']) : '';
  return {
    'x-forwarded-for': clientAddress(peer, headers['x-forwarded-for'], trusted),
    'x-forwarded-proto': proto === 'https' || proto === 'http' ? proto : encrypted ? 'https' : 'http',
    ...(host || headers.host ? { 'x-forwarded-host': host || headers.host } : {}),
  };
}
