import { Injectable } from '@nestjs/common';
import type { BackupRunResult, BackupSnapshotPage } from '@xspectre/contracts';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { DevicesService } from '../devices/devices.service.js';
import { BackupDeviceStatesRepository } from './backup-device-states.repository.js';
import { BackupEscrowService } from './backup-escrow.service.js';
import { BackupSnapshotsRepository } from './backup-snapshots.repository.js';

/**
 * What a successful backup's result line changes besides its run (in the report's transaction):
 * the device's snapshot catalog, its last check ("last verified restorable") and the escrowed
 * password. A check's outcome is a device event only when it differs from the previous one.
 */
@Injectable()
export class BackupCatalogService {
  constructor(
    private readonly devices: DevicesService,
    private readonly snapshots: BackupSnapshotsRepository,
    private readonly states: BackupDeviceStatesRepository,
    private readonly escrow: BackupEscrowService,
    private readonly deviceEvents: DeviceEventsService,
  ) {}

  async recordResult(deviceId: string, runId: string, result: BackupRunResult, at: Date): Promise<void> {
    await this.snapshots.sync(deviceId, result.snapshots);
    await this.states.catalogSynced(deviceId, at);
    // The episode ends; the alert resolves by backup.succeeded, which the run's end records.
    await this.states.endOverdue(deviceId);
    if (result.check) {
      const before = await this.states.recordCheck(deviceId, result.check.ok, at);
      if (!result.check.ok && before !== false) {
        await this.deviceEvents.record({
          deviceId,
          type: 'backup.check_failed',
          severity: 'critical',
          at,
          details: { runId, subset: result.check.subset, error: result.check.error },
        });
      } else if (result.check.ok && before === false) {
        await this.deviceEvents.record({ deviceId, type: 'backup.check_succeeded', severity: 'info', at, details: { runId } });
      }
    }
    await this.escrow.recordFromResult(deviceId, result.escrow, at);
  }

  /** When the device last passed a check (null: never). */
  async lastVerifiedAt(deviceId: string): Promise<Date | null> {
    return (await this.states.find(deviceId))?.lastVerifiedAt ?? null;
  }

  async page(deviceId: string): Promise<BackupSnapshotPage> {
    const device = await this.devices.requireDevice(deviceId);
    const [rows, state] = await Promise.all([this.snapshots.list(device.id), this.states.find(device.id)]);
    const num = (v: string | null) => (v === null ? null : Number(v));
    return {
      items: rows.map((r) => ({
        snapshotId: r.snapshotId,
        time: r.time.toISOString(),
        paths: r.paths,
        totalBytes: num(r.totalBytes),
        dataAddedBytes: num(r.dataAddedBytes),
        totalFiles: num(r.totalFiles),
        durationSeconds: r.durationSeconds,
        runId: r.runId,
      })),
      syncedAt: state?.catalogSyncedAt?.toISOString() ?? null,
      lastVerifiedAt: state?.lastVerifiedAt?.toISOString() ?? null,
    };
  }
}
