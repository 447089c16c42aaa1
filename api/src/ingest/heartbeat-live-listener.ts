import { Injectable } from '@nestjs/common';
import { HeartbeatAlerts } from '../alerts/heartbeat-alerts.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { LivePublisher } from '../live/live-publisher.js';
import { ScannerReportsService } from '../scanners/scanner-reports.service.js';
import { RecoveryService } from '../recovery/recovery.service.js';
import type { HeartbeatCommitListener } from './heartbeat-commit-listener.js';
import { liveUpdatesOf, type HeartbeatLiveUpdates } from './heartbeat-live.js';
import type { StoredBatch } from './heartbeat-store.js';

/**
 * Consoles hear about each committed group of heartbeats once, not per request or per device; the alert
 * engine compares the new latest states with its rules (in memory, off the request path); scanners'
 * GMP reports are stored; devices in recovery mode whose agent is back leave it.
 */
@Injectable()
export class HeartbeatLiveListener implements HeartbeatCommitListener {
  constructor(
    private readonly live: LivePublisher,
    private readonly deviceEvents: DeviceEventsService,
    private readonly alerts: HeartbeatAlerts,
    private readonly scanners: ScannerReportsService,
    private readonly recovery: RecoveryService,
  ) {}

  committed(batch: StoredBatch): void {
    void this.announce(batch, liveUpdatesOf(batch));
    this.alerts.observe(batch);
    // Scanners' GMP reports: the latest per device, stored off the request path (scanner-reports.service.ts).
    void this.scanners.observe(batch.newest, batch.receivedAt);
    // A device whose own agent speaks again has left recovery mode (api/src/recovery).
    void this.recovery.agentsHeard([...batch.newest.keys()], batch.receivedAt);
  }

  /**
   * One group commit, however many devices: telemetry patches, then one fleet `devices.changed`
   * and one `device.events` (each chunked) for the devices that came online and the recorded
   * events together. Never rejects: the publisher logs and drops what Redis refuses.
   */
  private async announce(batch: StoredBatch, updates: HeartbeatLiveUpdates): Promise<void> {
    if (updates.telemetry.length) await this.live.devicesChanged(updates.telemetry, 'telemetry');
    await this.deviceEvents.announceCommitted(batch.events, { fleet: updates.fleet, events: updates.events });
  }
}
