import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackupTokenKey } from '@xspectre/contracts/backup-token';
import type { CapacityReportSink } from './capacity-report.js';
import type { BackupServerConfig } from './config.js';
import { DiskImageStore } from './disk-images/image-store.js';
import { createFrontHandler } from './front.js';
import { errorText, type Logger } from './log.js';
import { Maintenance } from './maintenance.js';
import { BackupMetrics } from './metrics.js';
import { startRcloneRestic, type RcloneInstance } from './rclone-instance.js';
import { DirectoryStorage } from './storage/directory-storage.js';
import type { StorageDriver } from './storage/storage-driver.js';
import { ZfsStorage } from './storage/zfs-storage.js';

export function storageFromConfig(config: BackupServerConfig): StorageDriver {
  if (config.BACKUP_ZFS_DATASET) {
    return new ZfsStorage({
      dataset: config.BACKUP_ZFS_DATASET,
      deviceQuotaBytes: config.BACKUP_DEVICE_QUOTA,
      snapshotFloorDays: config.BACKUP_SNAPSHOT_FLOOR_DAYS,
      zfsBinary: config.BACKUP_ZFS_BIN,
      zpoolBinary: config.BACKUP_ZPOOL_BIN,
      imageDataset: config.BACKUP_IMAGE_ZFS_DATASET,
      imageQuotaBytes: config.BACKUP_IMAGE_DEVICE_QUOTA,
    });
  }
  return new DirectoryStorage(config.BACKUP_STORAGE_DIR!);
}

export interface BackupServerDeps {
  publicKeys: readonly BackupTokenKey[];
  log: Logger;
  sink: CapacityReportSink;
  storage?: StorageDriver;
  /** Default true; tests drive maintenance.tick() themselves. */
  startMaintenance?: boolean;
  now?: () => Date;
}

export interface BackupServer {
  readonly port: number;
  readonly storage: StorageDriver;
  readonly maintenance: Maintenance;
  readonly images: DiskImageStore;
  readonly rclone: { appendOnly: RcloneInstance; full: RcloneInstance };
  /** The metrics listener's port (BACKUP_METRICS_LISTEN; port 0 = any free one), or null without one. */
  readonly metricsPort: number | null;
  stop(): Promise<void>;
}

/** Storage, the two rclone instances, the front and the maintenance timer; stop() ends all of them. */
export async function startBackupServer(config: BackupServerConfig, deps: BackupServerDeps): Promise<BackupServer> {
  const storage = deps.storage ?? storageFromConfig(config);
  const root = await storage.prepare();
  const started: RcloneInstance[] = [];
  let server: Server | undefined;
  let metricsListener: { port: number; close: () => Promise<void> } | undefined;
  try {
    const metrics = config.BACKUP_METRICS_LISTEN ? new BackupMetrics() : undefined;
    const appendOnly = await startRcloneRestic({
      name: 'append-only',
      binary: config.BACKUP_RCLONE_BIN,
      root,
      appendOnly: true,
      log: deps.log,
    });
    started.push(appendOnly);
    const full = await startRcloneRestic({ name: 'full', binary: config.BACKUP_RCLONE_BIN, root, appendOnly: false, log: deps.log });
    started.push(full);

    const images = new DiskImageStore({
      storage,
      log: deps.log,
      maxBytes: config.BACKUP_IMAGE_MAX_BYTES,
      keep: config.BACKUP_IMAGE_KEEP,
      uploadTtlHours: config.BACKUP_IMAGE_UPLOAD_TTL_HOURS,
      observer: metrics,
    });
    const handler = createFrontHandler({
      publicKeys: () => deps.publicKeys,
      storage,
      upstreams: { 'append-only': appendOnly, full },
      log: deps.log,
      logRequests: config.BACKUP_LOG_REQUESTS,
      now: deps.now,
      metrics,
      images,
    });
    const httpServer = createServer({ headersTimeout: 30_000, requestTimeout: 0, keepAliveTimeout: 30_000 }, handler);
    server = httpServer;
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.BACKUP_LISTEN_PORT, config.BACKUP_LISTEN_HOST, () => resolve());
    });
    const port = (httpServer.address() as AddressInfo).port;
    if (metrics && config.BACKUP_METRICS_LISTEN) {
      const { host, port: metricsPort } = config.BACKUP_METRICS_LISTEN;
      metricsListener = await metrics.listen(host, metricsPort, (error) =>
        deps.log.log('error', 'metrics collection failed', { error: errorText(error) }),
      );
      deps.log.log('info', 'metrics listening', { host, port: metricsListener.port });
    }

    const maintenance = new Maintenance({
      storage,
      images,
      log: deps.log,
      sink: metrics ? metrics.observing(deps.sink) : deps.sink,
      snapshotIntervalMinutes: config.BACKUP_SNAPSHOT_INTERVAL_MINUTES,
      scrubIntervalDays: config.BACKUP_SCRUB_INTERVAL_DAYS,
      now: deps.now,
    });
    if (deps.startMaintenance ?? true) maintenance.start();
    deps.log.log('info', 'backup server listening', { host: config.BACKUP_LISTEN_HOST, port, store: storage.kind, root });

    return {
      port,
      storage,
      maintenance,
      images,
      rclone: { appendOnly, full },
      metricsPort: metricsListener?.port ?? null,
      async stop() {
        await maintenance.stop();
        await metricsListener?.close();
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await Promise.all(started.map((r) => r.stop()));
      },
    };
  } catch (err) {
    server?.close();
    await metricsListener?.close();
    await Promise.all(started.map((r) => r.stop()));
    throw err;
  }
}
