import { Injectable, Logger } from '@nestjs/common';
import {
  feedVersionTime,
  SCANNER_STATS_STALE_SECONDS,
  type Heartbeat,
  type ScannerListQuery,
  type ScannerRow,
  type ScannerSnapshot,
  type ScannerStats,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { DevicesService } from '../devices/devices.service.js';
import type { ScannerSnapshotEntity } from './scanner-snapshot.entity.js';
import { ScannerSnapshotsRepository } from './scanner-snapshots.repository.js';
import { ScannerHistoryRepository } from './scanner-history.repository.js';
import { Database } from '../db/database.js';

/** Task statuses that count as queued: asked for, not yet scanning. */
const QUEUED = new Set(['Requested', 'Queued']);

/** Scanners' GMP reports: the latest per device, the fleet's rows, one scanner's whole report. */
@Injectable()
export class ScannersService {
  private readonly logger = new Logger(ScannersService.name);

  constructor(
    private readonly snapshots: ScannerSnapshotsRepository,
    private readonly history: ScannerHistoryRepository,
    private readonly devices: DevicesService,
    private readonly db: Database,
  ) {}

  /**
   * After a group commit (off the request path): the reports the newest heartbeats carried. A
   * failure is logged, never thrown into the write; the agent sends the report again.
   */
  async observe(newest: ReadonlyMap<string, Heartbeat>, receivedAt: Date): Promise<void> {
    const rows: ScannerSnapshotEntity[] = [];
    for (const [deviceId, heartbeat] of newest)
      if (heartbeat.scannerStats) rows.push(snapshotRow(deviceId, heartbeat.scannerStats, receivedAt));
    if (rows.length === 0) return;
    await requestContext.run({ requestId: 'scanner-stats', sourceIp: null, audit: {}, dbLane: 'devices' }, async () => {
      for (const row of rows) {
        try {
          // One transaction per device: the report and the history it adds, or neither.
          await this.db.transaction(async () => {
            if (await this.snapshots.upsertNewer(row)) await this.history.record(row.deviceId, row.stats, row.collectedAt);
          });
        } catch (error) {
          this.logger.warn({
            msg: 'scanner report not stored; the agent sends it again',
            deviceId: row.deviceId,
            err: (error as Error).message,
          });
        }
      }
    });
  }

  async list(query: ScannerListQuery, now = new Date()) {
    const staleBefore = new Date(now.getTime() - SCANNER_STATS_STALE_SECONDS * 1000);
    const { items, total } = await this.snapshots.page({
      staleBefore,
      ...(query.stale === undefined ? {} : { stale: query.stale === 'true' }),
      limit: query.limit,
      offset: query.offset,
    });
    const rows: ScannerRow[] = items.map((s) => ({
      deviceId: s.deviceId,
      deviceName: s.deviceName,
      organizationId: s.organizationId,
      siteId: s.siteId,
      collectedAt: s.collectedAt.toISOString(),
      receivedAt: s.receivedAt.toISOString(),
      stale: s.collectedAt < staleBefore,
      gmpReachable: s.gmpReachable,
      gmpError: s.gmpError,
      nvtFeedVersion: s.nvtFeedVersion,
      nvtFeedAt: feedVersionTime(s.nvtFeedVersion),
      feedsSyncing: s.feedsSyncing,
      tasksRunning: s.tasksRunning,
      tasksQueued: s.tasksQueued,
    }));
    return { items: rows, total, limit: query.limit, offset: query.offset };
  }

  async forDevice(deviceId: string, now = new Date()): Promise<ScannerSnapshot> {
    const device = await this.devices.requireDevice(deviceId);
    const snapshot = await this.snapshots.find(device.id);
    if (!snapshot) throw new AppError('SCANNER_REPORT_NOT_FOUND', `device ${device.name} has sent no scanner report`);
    const [tasks, feeds] = await Promise.all([this.history.taskStates(device.id), this.history.feedVersions(device.id, 50)]);
    return {
      deviceId: device.id,
      taskStates: tasks.map((t) => ({
        taskId: t.taskId,
        status: t.status,
        statusSince: t.statusSince.toISOString(),
        progress: t.progress,
        progressChangedAt: t.progressChangedAt.toISOString(),
      })),
      feedVersions: feeds.map((f) => ({ feedType: f.feedType, version: f.version, firstSeenAt: f.firstSeenAt.toISOString() })),
      collectedAt: snapshot.collectedAt.toISOString(),
      receivedAt: snapshot.receivedAt.toISOString(),
      stale: snapshot.collectedAt.getTime() < now.getTime() - SCANNER_STATS_STALE_SECONDS * 1000,
      feedTimes: Object.fromEntries(snapshot.stats.feeds.map((f) => [f.type, feedVersionTime(f.version)])),
      stats: snapshot.stats,
    };
  }
}

function snapshotRow(deviceId: string, stats: ScannerStats, receivedAt: Date): ScannerSnapshotEntity {
  // The device's clock may be wrong: a report "from the future" is stored as received now.
  const collected = new Date(stats.collectedAt);
  return {
    deviceId,
    collectedAt: collected > receivedAt ? receivedAt : collected,
    receivedAt,
    gmpReachable: stats.gmp.reachable,
    gmpError: stats.gmp.error?.code ?? null,
    nvtFeedVersion: stats.feeds.find((f) => f.type.toUpperCase() === 'NVT')?.version ?? null,
    feedsSyncing: stats.feeds.some((f) => f.isSyncing),
    tasksRunning: stats.tasks.filter((t) => t.status === 'Running').length,
    tasksQueued: stats.tasks.filter((t) => QUEUED.has(t.status)).length,
    stats,
  };
}
