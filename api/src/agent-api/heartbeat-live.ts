import type { DeviceLiveEvent, DeviceLiveMetrics, DeviceLivePatch, Heartbeat, SystemMetrics } from '@xspectre/contracts';
import type { StoredBatch } from './heartbeat-store.js';

/** The numbers a fleet table shows, from a heartbeat's metrics. */
export function liveMetricsOf(m: SystemMetrics): DeviceLiveMetrics {
  const disks = m.mounts.filter((d) => d.totalBytes > 0).map((d) => (d.usedBytes / d.totalBytes) * 100);
  return {
    cpuPercent: m.cpuPercent,
    memUsedPercent: m.memory.totalBytes > 0 ? Math.min(100, (m.memory.usedBytes / m.memory.totalBytes) * 100) : 0,
    diskUsedPercentMax: disks.length ? Math.min(100, Math.max(...disks)) : null,
    netRxBps: m.network.reduce((sum, n) => sum + n.rxBytesPerSecond, 0),
    netTxBps: m.network.reduce((sum, n) => sum + n.txBytesPerSecond, 0),
  };
}

export interface HeartbeatLiveUpdates {
  telemetry: DeviceLivePatch[];
  fleet: DeviceLivePatch[];
  events: Array<{ deviceId: string; event: DeviceLiveEvent }>;
}

/** What consoles learn from one committed group of heartbeats. */
export function liveUpdatesOf(batch: StoredBatch): HeartbeatLiveUpdates {
  const at = batch.receivedAt.toISOString();
  const telemetry = [...batch.newest].map(([id, h]: [string, Heartbeat]) => ({
    id,
    lastHeartbeatAt: at,
    lastSequence: h.sequence,
    ...(h.metrics ? { metrics: liveMetricsOf(h.metrics) } : {}),
  }));
  const fleet: DeviceLivePatch[] = batch.cameOnline.map((id) => ({ id, connectivity: 'online', lastHeartbeatAt: at }));
  const events: HeartbeatLiveUpdates['events'] = batch.cameOnline.map((deviceId) => ({
    deviceId,
    event: { type: 'connectivity.online', severity: 'info', at },
  }));
  for (const e of batch.events) {
    if (e.type === 'fingerprint.changed') fleet.push({ id: e.deviceId, quarantined: true });
    events.push({ deviceId: e.deviceId, event: { type: e.type, severity: e.severity, at: e.at.toISOString(), details: e.details } });
  }
  return { telemetry, fleet, events };
}
