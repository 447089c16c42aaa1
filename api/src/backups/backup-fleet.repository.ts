import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { FILE_MODULES_SQL } from './image-slot-sql.js';

export interface BackupFleetRecord {
  device_id: string;
  device_name: string;
  organization_id: string;
  site_id: string;
  mode: string;
  last_run_at: Date | null;
  last_run_status: string | null;
  last_run_error: string | null;
  last_success_at: Date | null;
  last_snapshot_id: string | null;
  used_bytes: string | null;
  quota_bytes: string | null;
  last_verified_at: Date | null;
  last_check_ok: boolean | null;
}

/** The fleet view of backups: one row per active device that backs up, newest run and newest success by index. */
@Injectable()
export class BackupFleetRepository {
  constructor(private readonly db: Database) {}

  async page(filter: { kind?: 'failing' | 'overdue'; overdueBefore: Date; limit: number; offset: number }) {
    const where = [`d.status = 'active'`, `COALESCE(d.modules ->> 'backups', 'off') <> 'off'`];
    if (filter.kind === 'failing') where.push(`lr.status = 'failed'`);
    // $1 is always the overdue bound (typed here, so a statement that does not filter by it still knows its type).
    where.push(`$1::timestamptz IS NOT NULL`);
    if (filter.kind === 'overdue')
      where.push(`d.modules ->> 'backups' IN ${FILE_MODULES_SQL} AND (ls.finished_at IS NULL OR ls.finished_at < $1)`);
    const from = `FROM devices d
      LEFT JOIN LATERAL (SELECT r.status, r.error, COALESCE(r.finished_at, r.created_at) AS at FROM backup_runs r
                          WHERE r.device_id = d.id AND r.kind = 'backup' ORDER BY r.created_at DESC LIMIT 1) lr ON true
      LEFT JOIN LATERAL (SELECT r.finished_at, r.summary ->> 'snapshotId' AS snapshot_id FROM backup_runs r
                          WHERE r.device_id = d.id AND r.kind = 'backup' AND r.status = 'succeeded' ORDER BY r.finished_at DESC LIMIT 1) ls ON true
      LEFT JOIN backup_device_usage u ON u.device_id = d.id
      LEFT JOIN backup_device_states st ON st.device_id = d.id
      WHERE ${where.join(' AND ')}`;
    const params = [filter.overdueBefore];
    const [{ total }] = (await this.db.manager().query(`SELECT count(*)::int AS total ${from}`, params)) as [{ total: number }];
    const rows: BackupFleetRecord[] = await this.db.manager().query(
      `SELECT d.id AS device_id, d.name AS device_name, d.organization_id, d.site_id, d.modules ->> 'backups' AS mode,
              lr.at AS last_run_at, lr.status AS last_run_status, lr.error AS last_run_error,
              ls.finished_at AS last_success_at, ls.snapshot_id AS last_snapshot_id,
              u.used_bytes::text AS used_bytes, u.quota_bytes::text AS quota_bytes,
              st.last_verified_at, st.last_check_ok
         ${from}
        ORDER BY d.name, d.id
        LIMIT $2 OFFSET $3`,
      [...params, filter.limit, filter.offset],
    );
    return { rows, total };
  }
}
