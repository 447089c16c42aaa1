/** Reconnect delays: 0.5 s doubling to 30 s, with ±20 % jitter so consoles do not reconnect in step after an API restart. */
export function nextBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, Math.min(attempt, 16)));
  return Math.round(base * (0.8 + 0.4 * random()));
}
