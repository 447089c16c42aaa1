import { describe, expect, it } from 'vitest';
import { ProgressMeter, type ProgressSample } from './progress.js';

describe('ProgressMeter', () => {
  it('emits at most one sample per interval, always the last one, with rate and ETA', () => {
    let t = 0;
    const out: ProgressSample[] = [];
    const meter = new ProgressMeter(
      (s) => out.push(s),
      () => t,
      1000,
    );
    meter.update('uploading', 0, 1000);
    t = 500;
    meter.update('uploading', 100, 1000); // within the interval: dropped
    t = 1000;
    meter.update('uploading', 200, 1000);
    t = 1500;
    meter.update('uploading', 1000, 1000); // final: always
    expect(out).toEqual([
      { phase: 'uploading', bytesDone: 0, bytesTotal: 1000, rateBytesPerSecond: 0, etaSeconds: null },
      { phase: 'uploading', bytesDone: 200, bytesTotal: 1000, rateBytesPerSecond: 200, etaSeconds: 4 },
      { phase: 'uploading', bytesDone: 1000, bytesTotal: 1000, rateBytesPerSecond: 667, etaSeconds: 0 },
    ]);
  });

  it('starts over for a new phase and never reports more done than total', () => {
    let t = 0;
    const out: ProgressSample[] = [];
    const meter = new ProgressMeter(
      (s) => out.push(s),
      () => t,
    );
    meter.update('downloading', 10, 10);
    t = 100;
    meter.update('verifying', 0, 50);
    t = 2100;
    meter.update('verifying', 60, 50);
    expect(out.map((s) => [s.phase, s.bytesDone])).toEqual([
      ['downloading', 10],
      ['verifying', 0],
      ['verifying', 50],
    ]);
    expect(out[2]?.rateBytesPerSecond).toBe(30);
  });
});
