import { Injectable } from '@nestjs/common';
import {
  feedVersionTime,
  SCANNER_STATS_STALE_SECONDS,
  type ScannerListQuery,
  type ScannerRow,
  type ScannerSnapshot,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { DevicesService } from '../devices/devices.service.js';
import { ScannerSnapshotsRepository } from './scanner-snapshots.repository.js';
import { ScannerHistoryRepository } from './scanner-history.repository.js';

/** Scanners' GMP reports as operators read them: the fleet's rows, one scanner's whole report. */
@Injectable()
export class ScannersService {
  constructor(
    private readonly snapshots: ScannerSnapshotsRepository,
    private readonly history: ScannerHistoryRepository,
    private readonly devices: DevicesService,
  ) {}

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
      // Interim values until the fleet view's columns land (issue 19, this session's fleet-view work).
      organizationName: '',
      siteName: '',
      gmpVersion: null,
      feeds: [],
      lastFinishedScanAt: null,
      nextRunAt: null,
      severityLastWeek: { critical: 0, high: 0, medium: 0, low: 0 },
      coreContainers: [],
      dockerDataUsedPercent: null,
      redisMemoryPercent: null,
      versions: {},
      versionDrift: false,
      openAlerts: { critical: 0, warning: 0, info: 0 },
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
