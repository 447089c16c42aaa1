/** Chart ranges on the device page, and the step (seconds per point) each is asked with. */
export const METRIC_RANGES = [
  { key: '1h', label: '1 h', seconds: 3600 },
  { key: '24h', label: '24 h', seconds: 86_400 },
  { key: '7d', label: '7 d', seconds: 7 * 86_400 },
  { key: '30d', label: '30 d', seconds: 30 * 86_400 },
] as const;
export type MetricRangeKey = (typeof METRIC_RANGES)[number]['key'];

/** The API answers at most this many points per series. */
export const MAX_POINTS = 2000;
const NICE_STEPS = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/**
 * The smallest "nice" step that keeps the series within MAX_POINTS and is no finer than the
 * heartbeat interval (finer steps would only add empty points).
 */
export function pickStep(rangeSeconds: number, heartbeatSeconds: number): number {
  const floor = Math.max(heartbeatSeconds, rangeSeconds / MAX_POINTS, 1);
  return NICE_STEPS.find((s) => s >= floor) ?? 86_400;
}

export function rangeSeconds(key: string): number {
  return (METRIC_RANGES.find((r) => r.key === key) ?? METRIC_RANGES[0]).seconds;
}
