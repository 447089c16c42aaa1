import { describe, expect, it } from 'vitest';
import { clientAddress, forwardedHeadersFor, normalizeAddress, parseTrustedProxies } from '../server/forwarded.mjs';

describe('console server: who the client is (server/forwarded.mjs)', () => {
  const loopback = parseTrustedProxies('loopback');
  const proxies = parseTrustedProxies('loopback, 10.0.0.0/8, 2001:db8::/32');

  it('parses trust lists and refuses what is not an address, CIDR or a known name', () => {
    expect(loopback('127.0.0.1')).toBe(true);
    expect(loopback('127.9.9.9')).toBe(true);
    expect(loopback('::1')).toBe(true);
    expect(loopback('::ffff:127.0.0.1')).toBe(true);
    expect(loopback('10.0.0.1')).toBe(false);
    expect(proxies('10.200.3.4')).toBe(true);
    expect(proxies('2001:db8::7')).toBe(true);
    expect(proxies('192.0.2.1')).toBe(false);
    expect(parseTrustedProxies('none')('127.0.0.1')).toBe(false);
    expect(parseTrustedProxies('false')('127.0.0.1')).toBe(false);
    expect(parseTrustedProxies('192.0.2.7')('192.0.2.7')).toBe(true);
    expect(parseTrustedProxies('uniquelocal')('172.20.0.1')).toBe(true);
    expect(() => parseTrustedProxies('10.0.0.0/33, proxy.example, 1.2.3.4/8/9')).toThrow(
      /10\.0\.0\.0\/33, proxy\.example, 1\.2\.3\.4\/8\/9/,
    );
    expect(() => parseTrustedProxies(' , ')).toThrow(/none/);
    expect(() => parseTrustedProxies('none, 10.0.0.1')).toThrow(/none/);
  });

  it('normalizes addresses (dual-stack IPv4, brackets) and refuses garbage', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress(' [2001:DB8::1] ')).toBe('2001:db8::1');
    expect(normalizeAddress('192.0.2.1:5555')).toBeNull();
    expect(normalizeAddress('unknown')).toBeNull();
    expect(normalizeAddress(undefined)).toBeNull();
  });

  it('an untrusted peer is the client, whatever it claims', () => {
    expect(clientAddress('198.51.100.7', '203.0.113.9', loopback)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:198.51.100.7', '127.0.0.1', loopback)).toBe('198.51.100.7');
    expect(clientAddress('127.0.0.1', '203.0.113.9', parseTrustedProxies('none'))).toBe('127.0.0.1');
  });

  it('behind trusted proxies, the client is the right-most untrusted hop (what the client wrote is skipped)', () => {
    // The TLS proxy on loopback appended the real client; the client's own claim is left of it.
    expect(clientAddress('127.0.0.1', '203.0.113.9, 198.51.100.7', loopback)).toBe('198.51.100.7');
    // Two trusted hops (an edge proxy at 10.1.1.1, then the local TLS proxy).
    expect(clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.7, 10.1.1.1', proxies)).toBe('198.51.100.7');
    // Repeated headers arrive joined by Node: same walk.
    expect(clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.7', loopback)).toBe('198.51.100.7');
    // Nothing forwarded, or only trusted hops: the left-most trusted hop.
    expect(clientAddress('127.0.0.1', undefined, loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '', loopback)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '10.1.1.1', proxies)).toBe('10.1.1.1');
    // Garbage ends the walk at the trusted hop to its right.
    expect(clientAddress('127.0.0.1', '198.51.100.7, bogus, 10.1.1.1', proxies)).toBe('10.1.1.1');
  });

  it('sends the API only the client address; proto and host from a trusted proxy only', () => {
    const viaProxy = forwardedHeadersFor(
      {
        peer: '127.0.0.1',
        encrypted: false,
        headers: {
          'x-forwarded-for': '203.0.113.9, 198.51.100.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'ops.example',
          host: '127.0.0.1:3001',
        },
      },
      loopback,
    );
    expect(viaProxy).toEqual({ 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ops.example' });
    const direct = forwardedHeadersFor(
      {
        peer: '198.51.100.7',
        encrypted: false,
        headers: {
          'x-forwarded-for': '203.0.113.9',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil.example',
          host: 'ops.example:3001',
        },
      },
      loopback,
    );
    expect(direct).toEqual({ 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'ops.example:3001' });
  });
});
