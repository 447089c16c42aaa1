import { describe, expect, it } from 'vitest';
import { alignSeries, appendLive, headlineOf, type Aligned } from './chart-data';

describe('chart data', () => {
  it('aligns API points per chart, memory as a percentage, gaps as null', () => {
    const series = {
      metric: 'memory' as const,
      step: 60,
      source: 'rollup_1m' as const,
      points: [
        { t: '2026-01-01T00:00:00.000Z', values: { used: 2, total: 8 } },
        { t: '2026-01-01T00:01:00.000Z', values: { used: null, total: null } },
      ],
    };
    expect(alignSeries('memory', series)).toEqual([
      [1767225600, 1767225660],
      [25, null],
    ]);
    const cpu = { ...series, metric: 'cpu' as const, points: [{ t: '2026-01-01T00:00:00.000Z', values: { avg: 10, max: 30 } }] };
    expect(alignSeries('cpu', cpu)).toEqual([[1767225600], [10], [30]]);
  });

  it('appends a live point once per step and drops points older than the range', () => {
    const data: Aligned = [
      [100, 130],
      [1, 2],
    ];
    expect(appendLive(data, 140, [3], 30, 3600)).toBe(data);
    expect(appendLive(data, 160, [3], 30, 3600)).toEqual([
      [100, 130, 160],
      [1, 2, 3],
    ]);
    expect(appendLive(data, 160, [3], 30, 40)).toEqual([
      [130, 160],
      [2, 3],
    ]);
    expect(appendLive([[], []], 10, [5], 30, 3600)).toEqual([[10], [5]]);
  });

  it('derives the headline numbers of a full report', () => {
    const headline = headlineOf({
      cpuPercent: 12,
      load: [0, 0, 0],
      memory: { totalBytes: 200, usedBytes: 50, swapTotalBytes: 0, swapUsedBytes: 0 },
      mounts: [
        { mountpoint: '/', device: 'a', fsType: 'ext4', totalBytes: 100, usedBytes: 30, inodesTotal: 0, inodesUsed: 0 },
        { mountpoint: '/var', device: 'b', fsType: 'ext4', totalBytes: 100, usedBytes: 90, inodesTotal: 0, inodesUsed: 0 },
        { mountpoint: '/empty', device: 'c', fsType: 'tmpfs', totalBytes: 0, usedBytes: 0, inodesTotal: 0, inodesUsed: 0 },
      ],
      network: [
        { name: 'eth0', rxBytes: 0, txBytes: 0, rxBytesPerSecond: 10, txBytesPerSecond: 1 },
        { name: 'eth1', rxBytes: 0, txBytes: 0, rxBytesPerSecond: 5, txBytesPerSecond: 2 },
      ],
    });
    expect(headline).toEqual({ cpuPercent: 12, memUsedPercent: 25, diskUsedPercentMax: 90, netRxBps: 15, netTxBps: 3 });
  });
});
