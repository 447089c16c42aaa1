import { BackupCapacityReportSchema, type BackupCapacityReport } from '@xspectre/contracts';
import type { StorageDriver } from './storage/storage-driver.js';

/**
 * The storage report for the API (pool free/used/size, per-device usage and quota, the last
 * scrub), checked against the contract before it leaves.
 */
export async function collectCapacityReport(storage: StorageDriver, now: Date = new Date()): Promise<BackupCapacityReport> {
  const [pool, devices, lastScrub] = await Promise.all([storage.pool(), storage.devices(), storage.scrubStatus()]);
  return BackupCapacityReportSchema.parse({
    generatedAt: now.toISOString(),
    store: storage.kind,
    pool,
    devices: devices.map(({ deviceId, usedBytes, quotaBytes, snapshotCount }) => ({ deviceId, usedBytes, quotaBytes, snapshotCount })),
    lastScrub,
  });
}

/** Where reports go: the API (./api-report-sink.ts, POST backup-server/report), or the log when no API is configured. */
export interface CapacityReportSink {
  send(report: BackupCapacityReport): Promise<void>;
}
