import { describe, expect, it } from 'vitest';
import { IDLE_HINT_MS, OpenCommandHints } from './open-command-hints.js';

/** A counter whose answers the test sets, and which records each query's devices. */
function fakeCounts() {
  const open = new Map<string, number>();
  const queries: string[][] = [];
  let gate: Promise<void> = Promise.resolve();
  const count = async (ids: string[]) => {
    queries.push(ids);
    await gate;
    return new Map(ids.map((id) => [id, open.get(id) ?? 0]));
  };
  return { open, queries, count, hold: (p: Promise<void>) => (gate = p) };
}

describe('OpenCommandHints', () => {
  it('asks once for a device without open commands, then answers 0 without a query until a wake-up', async () => {
    const counts = fakeCounts();
    const hints = new OpenCommandHints(counts.count);
    expect(await hints.pendingCount('a')).toBe(0);
    expect(await hints.pendingCount('a')).toBe(0);
    expect(counts.queries).toEqual([['a']]);
    counts.open.set('a', 2);
    hints.woke('a');
    expect(await hints.pendingCount('a')).toBe(2);
    expect(counts.queries).toHaveLength(2);
  });

  it('never remembers a non-zero count: the device is about to poll', async () => {
    const counts = fakeCounts();
    counts.open.set('a', 1);
    const hints = new OpenCommandHints(counts.count);
    expect(await hints.pendingCount('a')).toBe(1);
    counts.open.set('a', 0);
    expect(await hints.pendingCount('a')).toBe(0);
    expect(counts.queries).toHaveLength(2);
  });

  it('asks again once the idle hint is older than IDLE_HINT_MS (a lost wake-up is bounded)', async () => {
    const counts = fakeCounts();
    let now = 1_000;
    const hints = new OpenCommandHints(counts.count, () => now);
    await hints.pendingCount('a');
    now += IDLE_HINT_MS - 1;
    await hints.pendingCount('a');
    expect(counts.queries).toHaveLength(1);
    now += 1;
    counts.open.set('a', 3);
    expect(await hints.pendingCount('a')).toBe(3);
    expect(counts.queries).toHaveLength(2);
  });

  it('does not remember a 0 read by a count that a wake-up overtook', async () => {
    const counts = fakeCounts();
    let now = 1_000;
    const hints = new OpenCommandHints(counts.count, () => now);
    let release = () => undefined as void;
    counts.hold(new Promise<void>((r) => (release = r)));
    const inFlight = hints.pendingCount('a');
    await new Promise((r) => setImmediate(r)); // the batched query has started
    now += 5;
    hints.woke('a'); // a command was queued while the count ran
    release();
    expect(await inFlight).toBe(0);
    counts.hold(Promise.resolve());
    counts.open.set('a', 1);
    expect(await hints.pendingCount('a')).toBe(1);
    expect(counts.queries).toHaveLength(2);
  });

  it('answers the devices of one tick with one query', async () => {
    const counts = fakeCounts();
    counts.open.set('b', 4);
    const hints = new OpenCommandHints(counts.count);
    expect(await Promise.all(['a', 'b', 'c'].map((id) => hints.pendingCount(id)))).toEqual([0, 4, 0]);
    expect(counts.queries).toEqual([['a', 'b', 'c']]);
  });
});
