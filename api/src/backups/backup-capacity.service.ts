import { Injectable } from '@nestjs/common';
import type { BackupCapacity, BackupServerReport } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { BackupCapacityRepository } from './backup-capacity.repository.js';

/** The backup servers' capacity reports: pool, scrub and per-device usage, as the backup-server sends them. */
@Injectable()
export class BackupCapacityService {
  constructor(private readonly capacity: BackupCapacityRepository) {}

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
