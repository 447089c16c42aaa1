import { Injectable } from '@nestjs/common';
import type { BackupDeviceUsage } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { BackupServerReportEntity } from './backup-server-report.entity.js';

@Injectable()
export class BackupCapacityRepository {
  constructor(private readonly db: Database) {}

  async saveServer(row: BackupServerReportEntity): Promise<void> {
    await this.db.manager().getRepository(BackupServerReportEntity).upsert(row, ['credentialId']);
  }

  /**
   * Upserts the usages of devices that exist; ids the API does not know (a directory left from a
   * deleted device, or garbage) are counted and skipped, so one bad entry never fails a report.
   */
  async saveDeviceUsage(credentialId: string, usages: BackupDeviceUsage[], at: Date): Promise<number> {
    if (usages.length === 0) return 0;
    const rows: unknown[] = await this.db.manager().query(
      `INSERT INTO backup_device_usage (device_id, credential_id, used_bytes, quota_bytes, snapshot_count, reported_at)
       SELECT u.device_id, $1, u.used_bytes, u.quota_bytes, u.snapshot_count, $6
         FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::int[]) AS u(device_id, used_bytes, quota_bytes, snapshot_count)
        WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = u.device_id)
       ON CONFLICT (device_id) DO UPDATE SET credential_id = EXCLUDED.credential_id, used_bytes = EXCLUDED.used_bytes,
              quota_bytes = EXCLUDED.quota_bytes, snapshot_count = EXCLUDED.snapshot_count, reported_at = EXCLUDED.reported_at
       RETURNING device_id`,
      [
        credentialId,
        usages.map((u) => u.deviceId),
        usages.map((u) => u.usedBytes),
        usages.map((u) => u.quotaBytes),
        usages.map((u) => u.snapshotCount),
        at,
      ],
    );
    return rows.length;
  }

  async servers(): Promise<Array<BackupServerReportEntity & { devices: number; deviceBytes: string }>> {
    const reports = await this.db
      .manager()
      .getRepository(BackupServerReportEntity)
      .find({ order: { serverName: 'ASC' } });
    const totals: Array<{ credential_id: string; devices: number; bytes: string }> = await this.db
      .manager()
      .query(
        `SELECT credential_id, count(*)::int AS devices, COALESCE(sum(used_bytes), 0)::text AS bytes FROM backup_device_usage GROUP BY credential_id`,
      );
    const byCredential = new Map(totals.map((t) => [t.credential_id, t]));
    return reports.map((r) => ({
      ...r,
      devices: byCredential.get(r.credentialId)?.devices ?? 0,
      deviceBytes: byCredential.get(r.credentialId)?.bytes ?? '0',
    }));
  }
}
