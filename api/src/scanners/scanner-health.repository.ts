import { Injectable } from '@nestjs/common';
import type { DockerDataUsage, ScannerStats } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import type { VersionBehind } from './scanner-snapshot.entity.js';

/** Docker data samples are kept this long (the growth is judged over the last week). */
const SAMPLE_KEEP_DAYS = 8;

export interface HealthSnapshotRow {
  deviceId: string;
  collectedAt: Date;
  stats: ScannerStats;
  gmpUnreachablePolls: number;
  gmpUnreachableSince: Date | null;
  firstCollectedAt: Date;
  syncingSince: Record<string, string>;
  versionsBehind: Record<string, VersionBehind>;
}

export interface HealthTaskRow {
  deviceId: string;
  taskId: string;
  status: string;
  statusSince: Date;
  progress: number | null;
  progressChangedAt: Date;
  expectedRunAt: Date | null;
}

export interface HealthSampleRow {
  deviceId: string;
  at: Date;
  usedBytes: number;
  totalBytes: number;
}

/** What the scanner checks read, for every active scanner at once (the alert engine's evaluation). */
@Injectable()
export class ScannerHealthRepository {
  constructor(private readonly db: Database) {}

  /** The latest report of each active device. */
  snapshots(): Promise<HealthSnapshotRow[]> {
    return this.db.rows<HealthSnapshotRow>(
      `SELECT s.device_id AS "deviceId", s.collected_at AS "collectedAt", s.stats, s.gmp_unreachable_polls AS "gmpUnreachablePolls",
              s.gmp_unreachable_since AS "gmpUnreachableSince", s.first_collected_at AS "firstCollectedAt",
              s.syncing_since AS "syncingSince", s.versions_behind AS "versionsBehind"
         FROM scanner_snapshots s JOIN devices d ON d.id = s.device_id
        WHERE d.status = 'active'`,
    );
  }

  taskStates(): Promise<HealthTaskRow[]> {
    return this.db.rows<HealthTaskRow>(
      `SELECT t.device_id AS "deviceId", t.task_id AS "taskId", t.status, t.status_since AS "statusSince", t.progress,
              t.progress_changed_at AS "progressChangedAt", t.expected_run_at AS "expectedRunAt"
         FROM scanner_task_states t JOIN devices d ON d.id = t.device_id
        WHERE d.status = 'active'`,
    );
  }

  /** Each device's newest scan end among the reports it counted (tasks beyond the report's 200 included). */
  async lastFinished(): Promise<Map<string, Date>> {
    const rows = await this.db.rows<{ deviceId: string; at: Date }>(
      `SELECT device_id AS "deviceId", max(scan_ended_at) AS at FROM scanner_report_counts WHERE scan_ended_at IS NOT NULL GROUP BY device_id`,
    );
    return new Map(rows.map((r) => [r.deviceId, r.at]));
  }

  async dockerSamples(since: Date): Promise<HealthSampleRow[]> {
    const rows = await this.db.rows<{ deviceId: string; at: Date; usedBytes: string; totalBytes: string }>(
      `SELECT device_id AS "deviceId", at, used_bytes AS "usedBytes", total_bytes AS "totalBytes"
         FROM scanner_docker_samples WHERE at >= $1 ORDER BY device_id, at`,
      [since],
    );
    return rows.map((r) => ({ ...r, usedBytes: Number(r.usedBytes), totalBytes: Number(r.totalBytes) }));
  }

  /** The first report of each hour is the hour's sample; samples older than SAMPLE_KEEP_DAYS go. */
  async recordDockerSample(deviceId: string, at: Date, usage: DockerDataUsage): Promise<void> {
    const m = this.db.manager();
    await m.query(
      `INSERT INTO scanner_docker_samples (device_id, hour, at, used_bytes, total_bytes)
       VALUES ($1, date_trunc('hour', $2::timestamptz), $2, $3, $4) ON CONFLICT DO NOTHING`,
      [deviceId, at, usage.usedBytes, usage.totalBytes],
    );
    await m.query(`DELETE FROM scanner_docker_samples WHERE device_id = $1 AND hour < $2::timestamptz - make_interval(days => $3)`, [
      deviceId,
      at,
      SAMPLE_KEEP_DAYS,
    ]);
  }

  /** Writes the devices whose services-behind changed (one statement for all). */
  async saveVersionsBehind(changes: Array<{ deviceId: string; behind: Record<string, VersionBehind> }>): Promise<void> {
    if (changes.length === 0) return;
    await this.db.rows(
      `UPDATE scanner_snapshots s SET versions_behind = x.behind
         FROM jsonb_to_recordset($1::jsonb) AS x(device_id uuid, behind jsonb) WHERE s.device_id = x.device_id`,
      [JSON.stringify(changes.map((c) => ({ device_id: c.deviceId, behind: c.behind })))],
    );
  }
}
