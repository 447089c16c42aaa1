import { describe, expect, it } from 'vitest';
import { nextBackoffMs } from './backoff';

describe('nextBackoffMs', () => {
  it('doubles from half a second up to 30 s', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 6, 7, 100].map((a) => nextBackoffMs(a, mid))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });

  it('spreads reconnects by ±20 %', () => {
    expect(nextBackoffMs(2, () => 0)).toBe(1600);
    expect(nextBackoffMs(2, () => 1)).toBe(2400);
  });
});
