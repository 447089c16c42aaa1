import { Injectable } from '@nestjs/common';
import {
  feedVersionTime,
  SCANNER_STATS_STALE_SECONDS,
  type ScannerListQuery,
  type ScannerRow,
  type ScannerSnapshot,
} from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { DevicesService } from '../devices/devices.service.js';
import { ScannerSnapshotsRepository } from './scanner-snapshots.repository.js';
import { ScannerHistoryRepository } from './scanner-history.repository.js';
import { ScannerFleetRepository, type ScannerFleetRecord } from './scanner-fleet.repository.js';

/** Scanners' GMP reports as operators read them: the fleet's rows, one scanner's whole report. */
@Injectable()
export class ScannersService {
  constructor(
    private readonly snapshots: ScannerSnapshotsRepository,
    private readonly history: ScannerHistoryRepository,
    private readonly fleet: ScannerFleetRepository,
    private readonly devices: DevicesService,
  ) {}

  /**
   * The fleet's scanner rows. Scoped like the devices list (GET devices): every holder of
   * devices.view sees the whole fleet, internal devices included (only changing them is
   * restricted: DevicesService.assertMayChange).
   */
  async list(query: ScannerListQuery, now = new Date()) {
    const staleBefore = new Date(now.getTime() - SCANNER_STATS_STALE_SECONDS * 1000);
    const { items, total } = await this.fleet.page({
      staleBefore,
      now,
      ...(query.stale === undefined ? {} : { stale: query.stale === 'true' }),
      ...(query.filter ? { filter: query.filter } : {}),
      ...(query.organizationId ? { organizationId: query.organizationId } : {}),
      ...(query.siteId ? { siteId: query.siteId } : {}),
      limit: query.limit,
      offset: query.offset,
    });
    return { items: items.map((s) => toRow(s, staleBefore)), total, limit: query.limit, offset: query.offset };
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

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : null);

/** A fleet row from the stored report: what the console shows without reading the whole report. */
function toRow(s: ScannerFleetRecord, staleBefore: Date): ScannerRow {
  const stats = s.stats;
  const latest = (times: Array<string | null | undefined>, pick: (a: number, b: number) => number) => {
    const ms = times.filter((t): t is string => !!t).map((t) => Date.parse(t));
    return ms.length ? new Date(ms.reduce((a, b) => pick(a, b))).toISOString() : null;
  };
  const containers = stats.coreContainers ?? [];
  const redis = containers.find((c) => c.service === 'redis-server');
  const host = stats.hostMemoryBytes ?? null;
  return {
    deviceId: s.deviceId,
    deviceName: s.deviceName,
    organizationId: s.organizationId,
    siteId: s.siteId,
    organizationName: s.organizationName,
    siteName: s.siteName,
    collectedAt: s.collectedAt.toISOString(),
    receivedAt: s.receivedAt.toISOString(),
    stale: s.collectedAt < staleBefore,
    gmpReachable: s.gmpReachable,
    gmpError: s.gmpError,
    gmpVersion: stats.gmp.version,
    nvtFeedVersion: s.nvtFeedVersion,
    nvtFeedAt: feedVersionTime(s.nvtFeedVersion),
    feedsSyncing: s.feedsSyncing,
    tasksRunning: s.tasksRunning,
    tasksQueued: s.tasksQueued,
    feeds: stats.feeds.map((f) => ({ type: f.type, version: f.version, at: feedVersionTime(f.version), syncing: f.isSyncing })),
    lastFinishedScanAt: latest(
      stats.tasks.map((t) => t.lastReport?.scanEndedAt),
      Math.max,
    ),
    nextRunAt: latest(
      stats.tasks.map((t) => t.nextRunAt),
      Math.min,
    ),
    severityLastWeek: s.severityLastWeek,
    coreContainers: containers.map((c) => ({ service: c.service, state: c.state })),
    dockerDataUsedPercent: stats.dockerData ? percent(stats.dockerData.usedBytes, stats.dockerData.totalBytes) : null,
    redisMemoryPercent: redis?.memoryBytes != null && host ? percent(redis.memoryBytes, host) : null,
    versions: Object.fromEntries(
      containers.flatMap((c) => {
        const tag = imageTag(c.image);
        return tag ? [[c.service, tag]] : [];
      }),
    ),
    versionDrift: s.versionDrift,
    openAlerts: s.openAlerts,
  };
}

/** An image reference's tag (`registry/greenbone/gvmd:22.4.1@sha256:…` → `22.4.1`), null without one. */
function imageTag(image: string | null): string | null {
  const ref = image?.split('@')[0] ?? '';
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  return colon < 0 ? null : name.slice(colon + 1) || null;
}
