// Input checks shared by the renderers and the hub driver. Everything that ends up in a
// config file or a `wg` argument is checked, so no value can inject lines or options.
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

const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function checkEndpoint(endpoint: string): void {
  const match = ENDPOINT.exec(endpoint);
  const port = Number(match?.[2]);
  check(match !== null && port >= 1 && port <= 65535, `endpoint '${endpoint}' is not host:port`);
}
