import { Injectable } from '@nestjs/common';
import type { BackupCapacity, BackupServerReport } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { BackupCapacityRepository } from './backup-capacity.repository.js';
import { BackupDeviceStatesRepository } from './backup-device-states.repository.js';

/** A device's repository above this share of its quota alerts (rule backup-quota) until it is back below. */
export const BACKUP_QUOTA_HIGH_SHARE = 0.9;

/** The backup servers' capacity reports: pool, scrub and per-device usage, as the backup-server sends them. */
@Injectable()
export class BackupCapacityService {
  constructor(
    private readonly capacity: BackupCapacityRepository,
    private readonly states: BackupDeviceStatesRepository,
    private readonly deviceEvents: DeviceEventsService,
  ) {}

  async record(report: BackupServerReport, now = new Date()): Promise<{ devicesRecorded: number; devicesUnknown: number }> {
    const service = requestContext.get()?.service;
    if (!service) throw new AppError('SERVICE_AUTH_REQUIRED');
    await this.capacity.saveServer({
      credentialId: service.credentialId,
      serverName: service.name,
      receivedAt: now,
      generatedAt: new Date(report.generatedAt),
      store: report.store,
      pool: report.pool,
      lastScrub: report.lastScrub,
    });
    const devicesRecorded = await this.capacity.saveDeviceUsage(service.credentialId, report.devices, now);
    const devicesUnknown = report.devices.length - devicesRecorded;
    await this.quotaEvents(
      report.devices.map((d) => d.deviceId),
      now,
    );
    requestContext.annotate({
      resourceId: service.credentialId,
      details: {
        store: report.store,
        freeBytes: report.pool.freeBytes,
        devices: report.devices.length,
        devicesUnknown,
        scrub: report.lastScrub?.state ?? null,
      },
    });
    return { devicesRecorded, devicesUnknown };
  }

  /** Devices that crossed BACKUP_QUOTA_HIGH_SHARE of their quota, either way: one event per crossing, none per report. */
  private async quotaEvents(deviceIds: string[], at: Date): Promise<void> {
    for (const change of await this.states.quotaChanges([...new Set(deviceIds)], BACKUP_QUOTA_HIGH_SHARE)) {
      const details = {
        usedBytes: Number(change.usedBytes),
        quotaBytes: change.quotaBytes === null ? null : Number(change.quotaBytes),
        thresholdPercent: BACKUP_QUOTA_HIGH_SHARE * 100,
      };
      await this.deviceEvents.record(
        change.high
          ? { deviceId: change.deviceId, type: 'backup.quota_high', severity: 'warning', at, details }
          : { deviceId: change.deviceId, type: 'backup.quota_ok', severity: 'info', at, details },
      );
    }
  }

  async servers(): Promise<BackupCapacity> {
    const rows = await this.capacity.servers();
    return {
      servers: rows.map((r) => ({
        credentialId: r.credentialId,
        name: r.serverName,
        receivedAt: r.receivedAt.toISOString(),
        generatedAt: r.generatedAt.toISOString(),
        store: r.store,
        pool: r.pool,
        lastScrub: r.lastScrub,
        devices: r.devices,
        deviceBytes: Number(r.deviceBytes),
      })),
    };
  }
}
