import type { Device } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { applyDevicePatch } from './device-patch';

const device: Device = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'scanner-1',
  organizationId: '00000000-0000-4000-8000-000000000002',
  siteId: '00000000-0000-4000-8000-000000000003',
  type: 'scanner',
  status: 'active',
  billable: true,
  hostname: 'scan-1',
  agentVersion: '0.1.0',
  enrolledAt: '2026-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2026-01-01T00:00:00.000Z',
  connectivity: 'online',
  tunnel: { overlayAddress: '10.10.0.20', publicKey: null, lastHandshakeAt: null, rxBytes: 0, txBytes: 0, endpoint: null },
  quarantine: null,
  metrics: null,
  metricsSampledAt: null,
  modules: { docker: true, scanner: true, backups: 'off' },
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('applyDevicePatch', () => {
  it('applies only the fields present and leaves the original untouched', () => {
    const out = applyDevicePatch(device, {
      id: device.id,
      lastHeartbeatAt: '2026-01-01T00:01:00.000Z',
      lastHandshakeAt: '2026-01-01T00:00:30.000Z',
    });
    expect(out.device.lastHeartbeatAt).toBe('2026-01-01T00:01:00.000Z');
    expect(out.device.tunnel.lastHandshakeAt).toBe('2026-01-01T00:00:30.000Z');
    expect(out.device.hostname).toBe('scan-1');
    expect(device.tunnel.lastHandshakeAt).toBeNull();
    expect(out).toMatchObject({ needsRefetch: false, membershipChanged: false });
  });

  it('flags changes that can move the device in or out of a filtered list', () => {
    expect(applyDevicePatch(device, { id: device.id, connectivity: 'offline' }).membershipChanged).toBe(true);
    expect(applyDevicePatch(device, { id: device.id, status: 'revoked' }).membershipChanged).toBe(true);
    // The same value again is no change.
    expect(applyDevicePatch(device, { id: device.id, connectivity: 'online', status: 'active' }).membershipChanged).toBe(false);
  });

  it('asks for a refetch when a quarantine starts (the reason is not in the patch), clears it locally when it ends', () => {
    const started = applyDevicePatch(device, { id: device.id, quarantined: true });
    expect(started).toMatchObject({ needsRefetch: true, membershipChanged: true });
    const quarantined = { ...device, quarantine: { since: '2026-01-01T00:00:00.000Z', reason: 'disk serial changed' } };
    const ended = applyDevicePatch(quarantined, { id: device.id, quarantined: false });
    expect(ended.device.quarantine).toBeNull();
    expect(ended.needsRefetch).toBe(false);
  });

  it('takes explicit nulls (hostname cleared) as values', () => {
    expect(applyDevicePatch(device, { id: device.id, hostname: null }).device.hostname).toBeNull();
  });

  it('takes the headline metrics of a heartbeat, stamped with its time', () => {
    const metrics = { cpuPercent: 93, memUsedPercent: 40, diskUsedPercentMax: 41, netRxBps: 1, netTxBps: 2 };
    const out = applyDevicePatch(device, { id: device.id, lastHeartbeatAt: '2026-01-01T00:02:00.000Z', metrics });
    expect(out.device.metrics).toEqual(metrics);
    expect(out.device.metricsSampledAt).toBe('2026-01-01T00:02:00.000Z');
    expect(out.membershipChanged).toBe(false);
    // A patch without metrics keeps the ones the list carried.
    expect(applyDevicePatch(out.device, { id: device.id, hostname: 'x' }).device.metrics).toEqual(metrics);
  });
});
