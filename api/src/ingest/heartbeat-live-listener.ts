import { Injectable } from '@nestjs/common';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { LivePublisher } from '../live/live-publisher.js';
import type { HeartbeatCommitListener } from './heartbeat-commit-listener.js';
import { liveUpdatesOf } from './heartbeat-live.js';
import type { StoredBatch } from './heartbeat-store.js';

/** Consoles hear about each committed group of heartbeats once, not per request. */
@Injectable()
export class HeartbeatLiveListener implements HeartbeatCommitListener {
  constructor(
    private readonly live: LivePublisher,
    private readonly deviceEvents: DeviceEventsService,
  ) {}

  committed(batch: StoredBatch): void {
    const updates = liveUpdatesOf(batch);
    if (updates.telemetry.length) void this.live.devicesChanged(updates.telemetry, 'telemetry');
    if (updates.fleet.length) void this.live.devicesChanged(updates.fleet, 'fleet');
    for (const { deviceId, event } of updates.events) void this.live.deviceEvent(deviceId, event);
    this.deviceEvents.announceCommitted(batch.events);
  }
}
