import type { DeviceHeadlineMetrics } from './devices.js';
import type { SystemMetrics } from './telemetry.js';

/** A share of a total in percent, never over 100 (a total of 0 is no share at all). */
const percentOf = (used: number, total: number) => (total > 0 ? Math.min(100, (used / total) * 100) : null);

/**
 * The numbers a fleet table shows for one metrics report: CPU, memory used, the fullest mount
 * (null without mounts) and the network rates summed over interfaces. The one TypeScript form
 * of the headline; its database-side twin (the sortable columns, the fleet view) is
 * api/src/db/headline-sql.ts.
 */
export function headlineMetrics(m: SystemMetrics): DeviceHeadlineMetrics {
  const disks = m.mounts.map((d) => percentOf(d.usedBytes, d.totalBytes)).filter((p): p is number => p !== null);
  return {
    cpuPercent: Math.min(100, m.cpuPercent),
    memUsedPercent: percentOf(m.memory.usedBytes, m.memory.totalBytes) ?? 0,
    diskUsedPercentMax: disks.length ? Math.max(...disks) : null,
    netRxBps: m.network.reduce((sum, n) => sum + n.rxBytesPerSecond, 0),
    netTxBps: m.network.reduce((sum, n) => sum + n.txBytesPerSecond, 0),
  };
}
