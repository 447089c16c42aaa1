import { describe, expect, it } from 'vitest';
import type { Heartbeat, SystemMetrics } from '@xspectre/contracts';
import { sampleTime, toMetricSample } from './metric-sample.js';

const metrics: SystemMetrics = {
  cpuPercent: 12.5,
  load: [0.5, 0.4, 0.3],
  memory: { totalBytes: 8e9, usedBytes: 2e9, swapTotalBytes: 1e9, swapUsedBytes: 1e6 },
  mounts: [
    { mountpoint: '/', device: '/dev/vda1', fsType: 'ext4', totalBytes: 100, usedBytes: 40, inodesTotal: 10, inodesUsed: 1 },
    { mountpoint: '/var', device: '/dev/vda2', fsType: 'ext4', totalBytes: 200, usedBytes: 180, inodesTotal: 10, inodesUsed: 1 },
    { mountpoint: '/empty', device: 'x', fsType: 'ext4', totalBytes: 0, usedBytes: 0, inodesTotal: 0, inodesUsed: 0 },
  ],
  network: [
    { name: 'eth0', rxBytes: 1, txBytes: 2, rxBytesPerSecond: 1000, txBytesPerSecond: 10 },
    { name: 'wg0', rxBytes: 1, txBytes: 2, rxBytesPerSecond: 24, txBytesPerSecond: 5 },
  ],
};

describe('metric samples', () => {
  const received = new Date('2026-11-23T12:00:00Z');

  it('takes the fullest disk and sums the interfaces', () => {
    const hb = { sequence: 7, sentAt: '2026-11-23T11:59:58Z', metrics } as Heartbeat & { metrics: SystemMetrics };
    expect(toMetricSample(hb, received)).toEqual({
      sequence: 7,
      sampledAt: new Date('2026-11-23T11:59:58Z'),
      cpuPercent: 12.5,
      load1: 0.5,
      memUsedBytes: 2e9,
      memTotalBytes: 8e9,
      swapUsedBytes: 1e6,
      diskUsedPercentMax: 90,
      netRxBps: 1024,
      netTxBps: 15,
    });
  });

  it('never stores a fullest disk over 100 % (as the fleet table shows it)', () => {
    const overfull = { ...metrics.mounts[0]!, usedBytes: 130 };
    const hb = { sequence: 8, sentAt: '2026-11-23T11:59:58Z', metrics: { ...metrics, mounts: [overfull] } } as Heartbeat & {
      metrics: SystemMetrics;
    };
    expect(toMetricSample(hb, received).diskUsedPercentMax).toBe(100);
  });

  it("trusts the agent's clock unless it is implausible", () => {
    expect(sampleTime('2026-11-23T11:00:00Z', received)).toEqual(new Date('2026-11-23T11:00:00Z'));
    expect(sampleTime('2026-11-23T12:04:00Z', received)).toEqual(new Date('2026-11-23T12:04:00Z'));
    expect(sampleTime('2027-11-23T12:00:00Z', received)).toEqual(received);
    expect(sampleTime('2026-09-01T12:00:00Z', received)).toEqual(received);
  });
});
