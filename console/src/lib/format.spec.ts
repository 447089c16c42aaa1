import { describe, expect, it } from 'vitest';
import { bitsPerSecond, bytes, countdown, percent, relativeTime } from './format';

const now = Date.parse('2026-01-01T12:00:00.000Z');

describe('format', () => {
  it('relativeTime reads like an operator says it', () => {
    expect(relativeTime(null, now)).toBe('never');
    expect(relativeTime('not a date', now)).toBe('—');
    expect(relativeTime('2026-01-01T11:59:58.000Z', now)).toBe('just now');
    expect(relativeTime('2026-01-01T11:59:15.000Z', now)).toBe('45 s ago');
    expect(relativeTime('2026-01-01T11:58:00.000Z', now)).toBe('2 m ago');
    expect(relativeTime('2026-01-01T09:00:00.000Z', now)).toBe('3 h ago');
    expect(relativeTime('2025-12-27T12:00:00.000Z', now)).toBe('5 d ago');
    expect(relativeTime('2026-01-01T12:04:00.000Z', now)).toBe('in 4 m');
  });

  it('countdown shows h:mm:ss, then "expired"', () => {
    expect(countdown('2026-01-02T12:00:00.000Z', now)).toBe('24:00:00');
    expect(countdown('2026-01-01T12:04:05.000Z', now)).toBe('4:05');
    expect(countdown('2026-01-01T12:00:00.000Z', now)).toBe('expired');
    expect(countdown('2025-01-01T12:00:00.000Z', now)).toBe('expired');
    expect(countdown('garbage', now)).toBe('expired');
  });

  it('bytes, bit rates and percentages', () => {
    expect(bytes(0)).toBe('0 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(4 * 1024 ** 3)).toBe('4.0 GiB');
    expect(bytes(null)).toBe('—');
    expect(bitsPerSecond(100)).toBe('800 bit/s');
    expect(bitsPerSecond(125_000)).toBe('1.0 Mbit/s');
    expect(bitsPerSecond(Number.NaN)).toBe('—');
    expect(percent(4.25)).toBe('4.3 %');
    expect(percent(42.6)).toBe('43 %');
    expect(percent(null)).toBe('—');
  });
});
