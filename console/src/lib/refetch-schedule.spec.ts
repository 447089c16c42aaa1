import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RefetchSchedule } from './refetch-schedule';

describe('RefetchSchedule', () => {
  let runs: number[];
  let hidden: boolean;
  const schedule = (options: { baseMs?: number; maxMs?: number; quietMs?: number } = {}) =>
    new RefetchSchedule(() => runs.push(Date.now()), { baseMs: 750, maxMs: 10_000, ...options, isHidden: () => hidden });
  /** Requests every `everyMs` for `forMs`, as a stream of live messages would. */
  const stream = (s: RefetchSchedule, everyMs: number, forMs: number) => {
    for (let t = 0; t < forMs; t += everyMs) {
      s.request();
      vi.advanceTimersByTime(everyMs);
    }
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    runs = [];
    hidden = false;
  });
  afterEach(() => vi.useRealTimers());

  it('joins the requests of a short burst into one run after the base delay', () => {
    const s = schedule();
    for (let i = 0; i < 20; i++) s.request();
    vi.advanceTimersByTime(749);
    expect(runs).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual([750]);
    vi.advanceTimersByTime(60_000);
    expect(runs).toEqual([750]);
  });

  it('doubles the interval while messages keep coming, up to the cap, never running twice within one interval', () => {
    const s = schedule();
    stream(s, 100, 60_000);
    // Today's fixed 750 ms would be 80 runs; doubling to 10 s leaves a handful.
    expect(runs.length).toBeLessThanOrEqual(10);
    expect(runs.length).toBeGreaterThanOrEqual(6);
    const gaps = runs.slice(1).map((t, i) => t - runs[i]!);
    // Each run waits the new interval from the first message after the previous run (that one 50 ms after the run at 750 ms).
    expect(runs[0]).toBe(750);
    expect(gaps.slice(0, 4)).toEqual([50 + 1500, 3000, 6000, 10_000]);
    expect(gaps.every((g) => g >= 750 && g <= 10_000)).toBe(true);
    expect(s.interval).toBe(10_000);
  });

  it('returns to the base delay once the stream was quiet for quietMs', () => {
    const s = schedule({ quietMs: 5_000 });
    stream(s, 100, 20_000);
    vi.advanceTimersByTime(20_000);
    runs = [];
    const from = Date.now();
    s.request();
    vi.advanceTimersByTime(750);
    expect(runs).toEqual([from + 750]);
    expect(s.interval).toBe(750);
  });

  it('keeps growing for messages less than quietMs apart, even when each lands after a run', () => {
    const s = schedule({ quietMs: 5_000 });
    s.request();
    vi.advanceTimersByTime(4_000);
    s.request();
    vi.advanceTimersByTime(4_000);
    expect(runs).toEqual([750, 4000 + 1500]);
    vi.advanceTimersByTime(6_000);
    s.request(); // 6 s after the previous request: a new burst
    vi.advanceTimersByTime(750);
    expect(runs.at(-1)).toBe(14_000 + 750);
  });

  it('defers runs while the tab is hidden and makes one once visible', () => {
    const s = schedule();
    hidden = true;
    stream(s, 100, 30_000);
    expect(runs).toEqual([]);
    hidden = false;
    const at = Date.now();
    s.visible();
    s.visible();
    vi.advanceTimersByTime(0);
    expect(runs).toEqual([at]);
    vi.advanceTimersByTime(60_000);
    expect(runs).toEqual([at]);
  });

  it('a run that comes due while hidden waits for visibility; nothing owed, nothing runs', () => {
    const s = schedule();
    s.request();
    hidden = true;
    vi.advanceTimersByTime(750);
    expect(runs).toEqual([]);
    hidden = false;
    s.visible();
    vi.advanceTimersByTime(0);
    expect(runs).toEqual([750]);
    s.visible();
    vi.advanceTimersByTime(10_000);
    expect(runs).toEqual([750]);
  });

  it('becoming visible right after a run waits out the interval', () => {
    const s = schedule();
    s.request();
    vi.advanceTimersByTime(750);
    hidden = true;
    vi.advanceTimersByTime(100);
    s.request(); // owed
    hidden = false;
    s.visible();
    vi.advanceTimersByTime(649);
    expect(runs).toEqual([750]);
    vi.advanceTimersByTime(1);
    expect(runs).toEqual([750, 1500]);
  });

  it('resync runs once at once and takes a pending run with it', () => {
    const s = schedule();
    s.request();
    vi.advanceTimersByTime(100);
    s.resync();
    s.resync();
    s.request(); // joins the resync's run
    vi.advanceTimersByTime(0);
    expect(runs).toEqual([100]);
    vi.advanceTimersByTime(60_000);
    expect(runs).toEqual([100]);
  });

  it('resync in a hidden tab waits for visibility', () => {
    const s = schedule();
    hidden = true;
    s.resync();
    vi.advanceTimersByTime(5_000);
    expect(runs).toEqual([]);
    hidden = false;
    s.visible();
    vi.advanceTimersByTime(0);
    expect(runs).toEqual([5_000]);
  });

  it('cancel drops pending and owed runs and leaves the schedule usable', () => {
    const s = schedule();
    s.request();
    s.cancel();
    vi.advanceTimersByTime(10_000);
    expect(runs).toEqual([]);
    s.request();
    vi.advanceTimersByTime(10_000);
    expect(runs).toHaveLength(1);
  });
});
