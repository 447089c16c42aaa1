import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Alert } from '@xspectre/contracts';
import { refusedKind } from './address-check.js';
import { routes } from './alert-deliveries.service.js';
import { retryDelayMs } from './alert-delivery.processor.js';
import { incidentBody, incidentMarker } from './betterstack.client.js';
import { scrub, type DeliveryTarget } from './delivery-target.js';
import { webhookSignature } from './webhook.client.js';

const policy = { overlayCidr: '10.10.0.0/24' };

describe('address check', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.0.1', 'private (RFC 1918)'],
    ['fd12:3456::1', 'private (ULA)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.10.0.7', 'in the overlay network 10.10.0.0/24'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(refusedKind(address, policy)).toBe(kind);
  });

  it.each(['8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '1.1.1.1'])('allows the public address %s', (address) => {
    expect(refusedKind(address, policy)).toBeNull();
  });

  it('knows an overlay outside the private ranges', () => {
    expect(refusedKind('100.100.5.5', { overlayCidr: '100.100.0.0/16' })).toBe('in the overlay network 100.100.0.0/16');
  });
});

describe('retry delay', () => {
  const mid = () => 0.5;
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 10_000, 900_000, mid))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000]);
    expect(retryDelayMs(20, 10_000, 900_000, mid)).toBe(900_000);
    expect(retryDelayMs(10_000, 10_000, 900_000, mid)).toBe(900_000);
  });
  it('spreads by at most 10 %', () => {
    expect(retryDelayMs(1, 10_000, 900_000, () => 0)).toBe(9_000);
    expect(retryDelayMs(1, 10_000, 900_000, () => 0.999999)).toBe(11_000);
  });
});

describe('routing', () => {
  const org = '9d0c3f43-5a55-4d35-a5f9-6c5c1b1b6e1f';
  it('takes the severities and organizations listed; fleet alerts by includeFleet', () => {
    const routing = { severities: ['critical' as const], organizationIds: [org], includeFleet: false };
    expect(routes(routing, { severity: 'critical', organizationId: org })).toBe(true);
    expect(routes(routing, { severity: 'warning', organizationId: org })).toBe(false);
    expect(routes(routing, { severity: 'critical', organizationId: '00000000-0000-4000-8000-000000000000' })).toBe(false);
    expect(routes(routing, { severity: 'critical', organizationId: null })).toBe(false);
    expect(routes({ ...routing, organizationIds: null, includeFleet: true }, { severity: 'critical', organizationId: null })).toBe(true);
    expect(routes({ ...routing, organizationIds: null }, { severity: 'critical', organizationId: org })).toBe(true);
  });
});

describe('BetterStack incident', () => {
  const target: Extract<DeliveryTarget, { kind: 'betterstack' }> = {
    id: 't',
    kind: 'betterstack',
    secret: 'secret-token',
    allowPrivateAddress: false,
    config: {
      baseUrl: 'https://uptime.example.test',
      requesterEmail: 'soc@example.test',
      policy: {
        critical: { call: true, sms: true, email: true, push: true },
        warning: { call: false, sms: false, email: true, push: true },
        info: { call: false, sms: false, email: false, push: false },
      },
    },
  };
  const alert = {
    id: '5b0f6f0a-8a4e-4b39-9a3b-0f1b4f1d2c3e',
    severity: 'warning',
    title: 'Disk filling',
    deviceId: null,
    deviceName: 'edge-1',
    organizationName: 'ACME',
    siteName: 'Berlin',
    subject: '/var',
    details: { value: 91.2, threshold: 85 },
    openedAt: '2026-12-03T10:00:00.000Z',
    ruleKey: 'disk-high',
  } as unknown as Alert;

  it('carries the marker, the place, the value, the console link and the severity policy', () => {
    const body = incidentBody(target, alert, 'https://console.example.test/');
    expect(body.name).toContain(incidentMarker(alert.id));
    expect(body.summary).toContain(incidentMarker(alert.id));
    expect(body.description).toContain('Device: edge-1');
    expect(body.description).toContain('Site: Berlin');
    expect(body.description).toContain('value: 91.2');
    expect(body.description).toContain(`Console: https://console.example.test/alerts/${alert.id}`);
    expect(body).toMatchObject({ requester_email: 'soc@example.test', call: false, sms: false, email: true, push: true });
    expect(body).not.toHaveProperty('team_name');
    expect(incidentBody(target, alert, undefined).description).not.toContain('Console:');
  });
});

describe('webhook signature and error text', () => {
  it('is HMAC-SHA256 over timestamp.body', () => {
    const expected = createHmac('sha256', 's3cret').update('1700000000.{"a":1}').digest('hex');
    expect(webhookSignature('s3cret', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });
  it('error text never carries the secret and is bounded', () => {
    expect(scrub('Bearer abc123 refused abc123', 'abc123')).toBe('Bearer [secret] refused [secret]');
    expect(scrub('x'.repeat(5000), 'k').length).toBeLessThanOrEqual(501);
  });
});
