import { describe, expect, it } from 'vitest';
import { headlineMetrics } from './headline-metrics.js';
import type { SystemMetrics } from './telemetry.js';

const mount = (usedBytes: number, totalBytes: number) => ({
  mountpoint: '/',
  device: 'sda1',
  fsType: 'ext4',
  usedBytes,
  totalBytes,
  inodesTotal: 0,
  inodesUsed: 0,
});
const metrics = (extra: Partial<SystemMetrics> = {}): SystemMetrics => ({
  cpuPercent: 12.5,
  load: [0.1, 0.2, 0.3],
  memory: { totalBytes: 400, usedBytes: 100, swapTotalBytes: 0, swapUsedBytes: 0 },
  mounts: [mount(50, 100), mount(90, 100), mount(0, 0)],
  network: [
    { name: 'eth0', rxBytes: 0, txBytes: 0, rxBytesPerSecond: 100, txBytesPerSecond: 50 },
    { name: 'wg0', rxBytes: 0, txBytes: 0, rxBytesPerSecond: 25, txBytesPerSecond: 5 },
  ],
  ...extra,
});

describe('headlineMetrics', () => {
  it('gives CPU, memory used, the fullest mount (empty mounts left out) and the summed network rates', () => {
    expect(headlineMetrics(metrics())).toEqual({
      cpuPercent: 12.5,
      memUsedPercent: 25,
      diskUsedPercentMax: 90,
      netRxBps: 125,
      netTxBps: 55,
    });
  });

  it('has no disk figure without mounts, and 0 % memory when the total is unknown', () => {
    const m = metrics({ mounts: [mount(0, 0)], memory: { totalBytes: 0, usedBytes: 0, swapTotalBytes: 0, swapUsedBytes: 0 } });
    expect(headlineMetrics(m)).toMatchObject({ memUsedPercent: 0, diskUsedPercentMax: null });
  });

  it('never shows more than 100 % (a report stored before the used ≤ total check, rounding)', () => {
    const m = metrics({
      cpuPercent: 100.4,
      memory: { totalBytes: 100, usedBytes: 130, swapTotalBytes: 0, swapUsedBytes: 0 },
      mounts: [mount(150, 100)],
    });
    expect(headlineMetrics(m)).toMatchObject({ cpuPercent: 100, memUsedPercent: 100, diskUsedPercentMax: 100 });
  });
});
