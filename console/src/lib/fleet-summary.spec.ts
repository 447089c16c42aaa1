import type { DeviceSummary } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { billable, changesFleet, withLiveValues, worstDeviceIds } from './fleet-summary';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
const at = '2026-01-01T00:00:00.000Z';
const metrics = (cpu: number, disk: number | null = 50) => ({
  cpuPercent: cpu,
  memUsedPercent: 30,
  diskUsedPercentMax: disk,
  netRxBps: 0,
  netTxBps: 0,
});

const summary: DeviceSummary = {
  total: 4,
  byStatus: { pending: 1, active: 3, revoked: 0, retired: 0 },
  connectivity: { online: 2, offline: 1, neverSeen: 1 },
  quarantined: 0,
  organizations: [
    { organizationId: A, name: 'Acme', billable: true, active: 2, online: 1, pending: 1 },
    { organizationId: B, name: 'Internal', billable: false, active: 1, online: 1, pending: 0 },
    { organizationId: C, name: 'Zeta', billable: true, active: 0, online: 0, pending: 0 },
  ],
  worst: {
    cpuPercent: [
      { id: A, name: 'alpha', value: 90, sampledAt: at },
      { id: B, name: 'beta', value: 60, sampledAt: at },
    ],
    memUsedPercent: [{ id: C, name: 'gamma', value: 70, sampledAt: at }],
    diskUsedPercentMax: [{ id: A, name: 'alpha', value: 80, sampledAt: at }],
  },
};

describe('fleet summary', () => {
  it('knows which live changes move the counts', () => {
    expect(changesFleet({ id: A, connectivity: 'offline' })).toBe(true);
    expect(changesFleet({ id: A, status: 'revoked' })).toBe(true);
    expect(changesFleet({ id: A, quarantined: false })).toBe(true);
    expect(changesFleet({ id: A, enrolledAt: at })).toBe(true);
    expect(changesFleet({ id: A, lastHeartbeatAt: at, metrics: metrics(10) })).toBe(false);
  });

  it('lists each device of the health strip once', () => {
    expect(worstDeviceIds(summary).sort()).toEqual([A, B, C]);
  });

  it('applies heartbeats received after the summary was asked for, and ranks again', () => {
    const live = { [A]: { metrics: metrics(20, null), receivedAt: 2000 }, [B]: { metrics: metrics(99), receivedAt: 500 } };
    // B's heartbeat is older than the summary (since 1000): the summary already has it.
    const cpu = withLiveValues(summary.worst.cpuPercent, 'cpuPercent', live, 1000);
    expect(cpu.map((d) => [d.name, d.value])).toEqual([
      ['beta', 60],
      ['alpha', 20],
    ]);
    expect(cpu[1]!.sampledAt).toBe(new Date(2000).toISOString());
    // A device that reports no mounts any more has no disk value: it leaves the disk list.
    expect(withLiveValues(summary.worst.diskUsedPercentMax, 'diskUsedPercentMax', live, 1000)).toEqual([]);
    // Nothing live: the summary as it came.
    expect(withLiveValues(summary.worst.cpuPercent, 'cpuPercent', {}, 0)).toEqual(summary.worst.cpuPercent);
  });

  it('lists the billable organizations with zeros and sums their active devices', () => {
    const out = billable(summary);
    expect(out.rows.map((o) => o.name)).toEqual(['Acme', 'Zeta']);
    expect(out.active).toBe(2);
  });
});
