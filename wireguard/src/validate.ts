// Input checks shared by the renderers and the hub driver. Everything that ends up in a
// config file or a `wg` argument is checked, so no value can inject lines or options.
import { isIP } from 'node:net';
import { isCanonicalCidr, isIpv4 } from './ipv4.js';
import { isWireGuardKey } from './keys.js';

export function check(ok: boolean, message: string): void {
  if (!ok) throw new TypeError(message);
}

export function checkKey(key: string, what: string): void {
  check(isWireGuardKey(key), `${what} is not a WireGuard key (base64 of 32 bytes)`);
}

export function checkInt(value: number, min: number, max: number, what: string): void {
  check(Number.isInteger(value) && value >= min && value <= max, `${what} must be an integer ${min}-${max}, got ${value}`);
}

export function checkAddress(address: string, prefixLength: number): void {
  check(isIpv4(address), `address '${address}' is not an IPv4 address`);
  checkInt(prefixLength, 0, 32, 'prefixLength');
}

export function checkAllowedIps(allowedIps: readonly string[], what: string): void {
  check(Array.isArray(allowedIps), `${what} allowedIps must be an array`);
  for (const cidr of allowedIps) check(isCanonicalCidr(cidr), `${what} allowed IP '${cidr}' is not an IPv4 CIDR without host bits`);
}

/**
 * What a device routes through its tunnel: IPv4 networks without host bits, or IPv6 networks
 * (for a hub that also speaks IPv6); `isIP` refuses anything but an address, so no line can sneak in.
 */
export function checkDeviceAllowedIps(allowedIps: readonly string[]): void {
  check(Array.isArray(allowedIps), 'hub allowedIps must be an array');
  for (const cidr of allowedIps) {
    const [ip = '', prefix = '', ...rest] = String(cidr).split('/');
    const v6 = rest.length === 0 && isIP(ip) === 6 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= 128;
    check(v6 || isCanonicalCidr(cidr), `hub allowed IP '${cidr}' is neither an IPv4 CIDR without host bits nor an IPv6 CIDR`);
  }
}

const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function checkEndpoint(endpoint: string): void {
  const match = ENDPOINT.exec(endpoint);
  const port = Number(match?.[2]);
  check(match !== null && port >= 1 && port <= 65535, `endpoint '${endpoint}' is not host:port`);
}
