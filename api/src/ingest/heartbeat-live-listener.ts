import { Injectable } from '@nestjs/common';
import { HeartbeatAlerts } from '../alerts/heartbeat-alerts.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { LivePublisher } from '../live/live-publisher.js';
import type { HeartbeatCommitListener } from './heartbeat-commit-listener.js';
import { liveUpdatesOf } from './heartbeat-live.js';
import type { StoredBatch } from './heartbeat-store.js';

/**
 * Consoles hear about each committed group of heartbeats once, not per request; the alert
 * engine compares the new latest states with its rules (in memory, off the request path).
 */
@Injectable()
export class HeartbeatLiveListener implements HeartbeatCommitListener {
  constructor(
    private readonly live: LivePublisher,
    private readonly deviceEvents: DeviceEventsService,
    private readonly alerts: HeartbeatAlerts,
  ) {}

  committed(batch: StoredBatch): void {
    const updates = liveUpdatesOf(batch);
    if (updates.telemetry.length) void this.live.devicesChanged(updates.telemetry, 'telemetry');
    if (updates.fleet.length) void this.live.devicesChanged(updates.fleet, 'fleet');
    for (const { deviceId, event } of updates.events) void this.live.deviceEvent(deviceId, event);
    this.deviceEvents.announceCommitted(batch.events);
    this.alerts.observe(batch);
  }
}
