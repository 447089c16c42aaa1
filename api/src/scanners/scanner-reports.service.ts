import { Injectable, Logger } from '@nestjs/common';
import type { Heartbeat, ScannerStats } from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { ScannerSnapshotsRepository, type SnapshotReport } from './scanner-snapshots.repository.js';
import { ScannerHealthRepository } from './scanner-health.repository.js';
import { ScannerHistoryRepository } from './scanner-history.repository.js';

/** Task statuses that count as queued: asked for, not yet scanning. */
const QUEUED = new Set(['Requested', 'Queued']);

/** Stores the GMP reports heartbeats carry: the latest per scanner and the history successive reports make. */
@Injectable()
export class ScannerReportsService {
  private readonly logger = new Logger(ScannerReportsService.name);

  constructor(
    private readonly snapshots: ScannerSnapshotsRepository,
    private readonly history: ScannerHistoryRepository,
    private readonly health: ScannerHealthRepository,
    private readonly db: Database,
  ) {}

  /**
   * After a group commit (off the request path): the reports the newest heartbeats carried. A
   * failure is logged, never thrown into the write; the agent sends the report again.
   */
  async observe(newest: ReadonlyMap<string, Heartbeat>, receivedAt: Date): Promise<void> {
    const rows: SnapshotReport[] = [];
    for (const [deviceId, heartbeat] of newest)
      if (heartbeat.scannerStats) rows.push(snapshotRow(deviceId, heartbeat.scannerStats, receivedAt));
    if (rows.length === 0) return;
    await requestContext.run({ requestId: 'scanner-stats', sourceIp: null, audit: {}, dbLane: 'devices' }, async () => {
      for (const row of rows) {
        try {
          // One transaction per device: the report and the history it adds, or neither.
          await this.db.transaction(async () => {
            if (!(await this.snapshots.upsertNewer(row))) return;
            await this.history.record(row.deviceId, row.stats, row.collectedAt);
            if (row.stats.dockerData) await this.health.recordDockerSample(row.deviceId, row.collectedAt, row.stats.dockerData);
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
}

function snapshotRow(deviceId: string, stats: ScannerStats, receivedAt: Date): SnapshotReport {
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
