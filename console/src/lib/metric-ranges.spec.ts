import { describe, expect, it } from 'vitest';
import { MAX_POINTS, METRIC_RANGES, pickStep } from './metric-ranges';

describe('pickStep', () => {
  it('keeps every range within the API limit of 2000 points', () => {
    for (const range of METRIC_RANGES) {
      for (const heartbeat of [5, 30, 60]) {
        const step = pickStep(range.seconds, heartbeat);
        expect(range.seconds / step).toBeLessThanOrEqual(MAX_POINTS);
      }
    }
  });

  it('is never finer than the heartbeat interval', () => {
    expect(pickStep(3600, 30)).toBe(30);
    expect(pickStep(3600, 5)).toBe(5);
    expect(pickStep(3600, 45)).toBe(60);
  });

  it('picks round steps for the long ranges', () => {
    expect(pickStep(86_400, 30)).toBe(60);
    expect(pickStep(7 * 86_400, 30)).toBe(600);
    expect(pickStep(30 * 86_400, 30)).toBe(1800);
  });
});
