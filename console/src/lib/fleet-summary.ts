import type { DeviceHeadlineMetrics, DeviceLivePatch, DeviceSummary, WorstDevice } from '@xspectre/contracts';

/** The metrics the summary ranks devices by. */
export type WorstMetric = keyof DeviceSummary['worst'];

/** Patch fields that change the summary's counts (a heartbeat alone does not). */
const FLEET_FIELDS = ['status', 'connectivity', 'quarantined', 'enrolledAt'] as const;

export function changesFleet(patch: DeviceLivePatch): boolean {
  return FLEET_FIELDS.some((field) => patch[field] !== undefined);
}

/** Every device named in the health strip (to subscribe to their heartbeats). */
export function worstDeviceIds(summary: DeviceSummary): string[] {
  const ids = new Set<string>();
  for (const list of Object.values(summary.worst)) for (const d of list) ids.add(d.id);
  return [...ids];
}

/** A live heartbeat's metrics, and when the console received it (ms since the epoch). */
export interface LiveSample {
  metrics: DeviceHeadlineMetrics;
  receivedAt: number;
}

/**
 * The summary's worst devices for one metric with the values of heartbeats received after the
 * summary was requested (`since`), highest first. A device whose newest heartbeat has no value
 * for the metric (no mounts) leaves the list.
 */
export function withLiveValues(
  list: readonly WorstDevice[],
  metric: WorstMetric,
  live: Readonly<Record<string, LiveSample>>,
  since: number,
): WorstDevice[] {
  const out: WorstDevice[] = [];
  for (const d of list) {
    const sample = live[d.id];
    if (!sample || sample.receivedAt <= since) {
      out.push(d);
      continue;
    }
    const value = sample.metrics[metric];
    if (value === null) continue;
    out.push({ ...d, value, sampledAt: new Date(sample.receivedAt).toISOString() });
  }
  return out.sort((a, b) => b.value - a.value || a.name.localeCompare(b.name));
}

export type SummaryOrganization = DeviceSummary['organizations'][number];

/** The billable organizations (customers) as the summary lists them (by name), and their active devices in sum. */
export function billable(summary: DeviceSummary): { rows: SummaryOrganization[]; active: number } {
  const rows = summary.organizations.filter((o) => o.billable);
  return { rows, active: rows.reduce((sum, o) => sum + o.active, 0) };
}
