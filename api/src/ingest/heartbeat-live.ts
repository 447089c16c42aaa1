import { headlineMetrics, type DeviceLivePatch, type Heartbeat, type LiveDeviceEventItem } from '@xspectre/contracts';
import type { StoredBatch } from './heartbeat-store.js';

export interface HeartbeatLiveUpdates {
  telemetry: DeviceLivePatch[];
  fleet: DeviceLivePatch[];
  /** The devices that came online; published with the group's recorded events as one `device.events`. */
  events: LiveDeviceEventItem[];
}

/** What consoles learn from one committed group of heartbeats (its device events: DeviceEventsService.announceCommitted). */
export function liveUpdatesOf(batch: StoredBatch): HeartbeatLiveUpdates {
  const at = batch.receivedAt.toISOString();
  const telemetry = [...batch.newest].map(([id, h]: [string, Heartbeat]) => ({
    id,
    lastHeartbeatAt: at,
    lastSequence: h.sequence,
    ...(h.metrics ? { metrics: headlineMetrics(h.metrics) } : {}),
  }));
  const fleet: DeviceLivePatch[] = batch.cameOnline.map((id) => ({ id, connectivity: 'online', lastHeartbeatAt: at }));
  const events: LiveDeviceEventItem[] = batch.cameOnline.map((deviceId) => ({
    deviceId,
    event: { type: 'connectivity.online', severity: 'info', at },
  }));
  return { telemetry, fleet, events };
}
