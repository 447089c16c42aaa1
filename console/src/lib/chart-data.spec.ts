import { describe, expect, it } from 'vitest';
import { alignSeries, appendLive, type Aligned } from './chart-data';

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
});
