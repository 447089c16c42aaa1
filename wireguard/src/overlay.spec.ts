import { describe, expect, it } from 'vitest';
import { OverlayConfigError, PoolExhaustedError, allocateAddress, isQuarantined, parseOverlayConfig, poolOf } from './index.js';

const config = parseOverlayConfig();

function expectConfigError(input: Parameters<typeof parseOverlayConfig>[0], message: RegExp): void {
  expect(() => parseOverlayConfig(input)).toThrow(OverlayConfigError);
  expect(() => parseOverlayConfig(input)).toThrow(message);
}

describe('parseOverlayConfig', () => {
  it('has the 10.10.0.0/24 defaults', () => {
    expect(config).toEqual({
      cidr: '10.10.0.0/24',
      prefixLength: 24,
      hubAddress: '10.10.0.1',
      pools: {
        internal: { first: '10.10.0.10', last: '10.10.0.19' },
        customer: { first: '10.10.0.20', last: '10.10.0.99' },
        reserved: { first: '10.10.0.100', last: '10.10.0.199' },
        recovery: { first: '10.10.0.200', last: '10.10.0.249' },
      },
    });
  });

  it('overrides single pools and keeps the other defaults', () => {
    const parsed = parseOverlayConfig({ pools: { customer: ' 10.10.0.20 - 10.10.0.29 ' } });
    expect(parsed.pools.customer).toEqual({ first: '10.10.0.20', last: '10.10.0.29' });
    expect(parsed.pools.recovery).toEqual({ first: '10.10.0.200', last: '10.10.0.249' });
  });

  it('names overlapping pools', () => {
    expectConfigError(
      { pools: { reserved: '10.10.0.90-10.10.0.199' } },
      /pool reserved \(10\.10\.0\.90-10\.10\.0\.199\) overlaps pool customer/,
    );
  });

  it('rejects pools outside the CIDR, over the hub, reversed or malformed', () => {
    expectConfigError(
      { pools: { recovery: '10.10.0.200-10.10.1.10' } },
      /pool recovery .* is not inside the host addresses of 10\.10\.0\.0\/24/,
    );
    expectConfigError({ pools: { recovery: '10.10.0.250-10.10.0.255' } }, /not inside/); // .255 is the broadcast address
    expectConfigError({ pools: { internal: '10.10.0.1-10.10.0.19' } }, /pool internal .* contains the hub 10\.10\.0\.1/);
    expectConfigError({ pools: { internal: '10.10.0.19-10.10.0.10' } }, /starts after it ends/);
    expectConfigError({ pools: { internal: '10.10.0.10..19' } }, /pool internal: '10\.10\.0\.10\.\.19' is not an IPv4 range/);
    expectConfigError({ pools: { internal: '10.10.0.010-10.10.0.19' } }, /not an IPv4 range/);
  });

  it('rejects bad CIDRs and hub addresses', () => {
    expectConfigError({ cidr: '10.10.0.0' }, /cidr '10\.10\.0\.0' is not an IPv4 CIDR/);
    expectConfigError({ cidr: '10.10.0.5/24' }, /host bits set/);
    expectConfigError({ cidr: 'fd00::/64' }, /IPv4 only/);
    expectConfigError({ hubAddress: '10.10.1.1' }, /hub address 10\.10\.1\.1 is not a host address/);
    expectConfigError({ hubAddress: '10.10.0.300' }, /hub address '10\.10\.0\.300' is not an IPv4 address/);
  });

  it('lists every problem at once', () => {
    try {
      parseOverlayConfig({ hubAddress: 'x', pools: { internal: 'y' } });
      expect.unreachable();
    } catch (error) {
      expect((error as OverlayConfigError).problems).toHaveLength(2);
    }
  });

  it('takes a /16 without code changes', () => {
    const big = parseOverlayConfig({
      cidr: '10.20.0.0/16',
      hubAddress: '10.20.0.1',
      pools: {
        internal: '10.20.0.10-10.20.0.255',
        customer: '10.20.1.0-10.20.199.255',
        reserved: '10.20.200.0-10.20.239.255',
        recovery: '10.20.240.0-10.20.255.254',
      },
    });
    expect(big.prefixLength).toBe(16);
    expect(allocateAddress(big, 'customer', new Set(['10.20.1.0']))).toBe('10.20.1.1');
    const taken = new Set(Array.from({ length: 256 }, (_, i) => `10.20.1.${i}`));
    expect(allocateAddress(big, 'customer', taken)).toBe('10.20.2.0');
    expect(poolOf(big, '10.20.150.7')).toBe('customer');
    expect(poolOf(big, '10.20.255.254')).toBe('recovery');
  });
});

describe('allocateAddress', () => {
  it('hands out the lowest address of each pool', () => {
    expect(allocateAddress(config, 'internal', new Set())).toBe('10.10.0.10');
    expect(allocateAddress(config, 'customer', new Set())).toBe('10.10.0.20');
    expect(allocateAddress(config, 'reserved', new Set())).toBe('10.10.0.100');
    expect(allocateAddress(config, 'recovery', new Set())).toBe('10.10.0.200');
  });

  it('skips taken (in use or quarantined) addresses and fills gaps first', () => {
    expect(allocateAddress(config, 'customer', new Set(['10.10.0.20', '10.10.0.21', '10.10.0.23']))).toBe('10.10.0.22');
    expect(allocateAddress(config, 'customer', new Set(['10.10.0.10', '10.10.0.200']))).toBe('10.10.0.20');
  });

  it('throws PoolExhaustedError with the pool and its size', () => {
    const taken = new Set(Array.from({ length: 10 }, (_, i) => `10.10.0.${10 + i}`));
    expect(() => allocateAddress(config, 'internal', taken)).toThrow(PoolExhaustedError);
    try {
      allocateAddress(config, 'internal', taken);
    } catch (error) {
      expect(error).toMatchObject({ pool: 'internal', size: 10 });
      expect((error as Error).message).toMatch(/'internal' is exhausted: all 10 addresses/);
    }
  });
});

describe('poolOf', () => {
  it('maps addresses to pools', () => {
    expect(poolOf(config, '10.10.0.19')).toBe('internal');
    expect(poolOf(config, '10.10.0.20')).toBe('customer');
    expect(poolOf(config, '10.10.0.150')).toBe('reserved');
    expect(poolOf(config, '10.10.0.249')).toBe('recovery');
    expect(poolOf(config, '10.10.0.1')).toBeNull();
    expect(poolOf(config, '10.10.0.250')).toBeNull();
    expect(poolOf(config, '192.0.2.20')).toBeNull();
    expect(poolOf(config, 'nonsense')).toBeNull();
  });
});

describe('isQuarantined', () => {
  const releasedAt = new Date('2025-01-01T00:00:00Z');
  it('holds an address for quarantineMs after release', () => {
    expect(isQuarantined(releasedAt, new Date('2025-01-01T00:59:59Z'), 3_600_000)).toBe(true);
    expect(isQuarantined(releasedAt, new Date('2025-01-01T01:00:00Z'), 3_600_000)).toBe(false);
    expect(isQuarantined(releasedAt, releasedAt, 0)).toBe(false);
  });
  it('treats a release in the future or an invalid date as quarantined', () => {
    expect(isQuarantined(new Date('2025-01-02T00:00:00Z'), releasedAt, 1000)).toBe(true);
    expect(isQuarantined(new Date('invalid'), releasedAt, 1000)).toBe(true);
  });
});
