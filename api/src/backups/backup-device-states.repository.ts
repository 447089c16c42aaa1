import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { BackupDeviceStateEntity } from './backup-device-state.entity.js';
import { FILE_MODULES_SQL } from './image-slot-sql.js';

export interface QuotaChange {
  deviceId: string;
  high: boolean;
  usedBytes: string;
  quotaBytes: string | null;
}

/** Per-device backup state; every change that alerts is a compare-and-set, so it fires once however many callers race. */
@Injectable()
export class BackupDeviceStatesRepository {
  constructor(private readonly db: Database) {}

  find(deviceId: string): Promise<BackupDeviceStateEntity | null> {
    return this.db.manager().getRepository(BackupDeviceStateEntity).findOneBy({ deviceId });
  }

  async catalogSynced(deviceId: string, at: Date): Promise<void> {
    await this.db.manager().query(
      `INSERT INTO backup_device_states (device_id, catalog_synced_at) VALUES ($1, $2)
       ON CONFLICT (device_id) DO UPDATE SET catalog_synced_at = EXCLUDED.catalog_synced_at`,
      [deviceId, at],
    );
  }

  /** Records a check's outcome; returns the previous outcome (null: never checked), read under the row's lock. */
  async recordCheck(deviceId: string, ok: boolean, at: Date): Promise<boolean | null> {
    await this.db
      .manager()
      .query(`INSERT INTO backup_device_states (device_id) VALUES ($1) ON CONFLICT (device_id) DO NOTHING`, [deviceId]);
    const [before] = (await this.db
      .manager()
      .query(`SELECT last_check_ok FROM backup_device_states WHERE device_id = $1 FOR UPDATE`, [deviceId])) as Array<{
      last_check_ok: boolean | null;
    }>;
    await this.db.manager().query(
      `UPDATE backup_device_states SET last_check_at = $2, last_check_ok = $3,
              last_verified_at = CASE WHEN $3 THEN $2 ELSE last_verified_at END
        WHERE device_id = $1`,
      [deviceId, at, ok],
    );
    return before?.last_check_ok ?? null;
  }

  /** Ends the device's overdue episode (a success): true when one was open. */
  async endOverdue(deviceId: string): Promise<boolean> {
    const rows = await this.db.changedRows(
      `UPDATE backup_device_states SET overdue_since = NULL WHERE device_id = $1 AND overdue_since IS NOT NULL RETURNING device_id`,
      [deviceId],
    );
    return rows.length > 0;
  }

  /**
   * Opens an overdue episode for every active FILE or HYBRID device without a successful backup since
   * `before` (a device that never succeeded counts from its first run, or when its policy was set,
   * or its enrollment, whichever is known first) and none open: returns those devices, each once.
   * Episodes of devices that stopped backing up are closed without an event.
   */
  async openOverdue(before: Date, now: Date): Promise<Array<{ deviceId: string; lastSuccessAt: Date | null }>> {
    await this.db.manager().query(
      `UPDATE backup_device_states s SET overdue_since = NULL
        WHERE s.overdue_since IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_id AND d.status = 'active' AND d.modules ->> 'backups' IN ${FILE_MODULES_SQL})`,
    );
    const rows: Array<{ device_id: string; last_success_at: Date | null }> = await this.db.manager().query(
      `WITH candidates AS (
         SELECT d.id AS device_id, ls.at AS last_success_at
           FROM devices d
           LEFT JOIN LATERAL (SELECT max(r.finished_at) AS at FROM backup_runs r
                               WHERE r.device_id = d.id AND r.kind = 'backup' AND r.status = 'succeeded') ls ON true
           LEFT JOIN LATERAL (SELECT min(r.created_at) AS at FROM backup_runs r WHERE r.device_id = d.id AND r.kind = 'backup') fr ON true
           LEFT JOIN backup_policies p ON p.device_id = d.id
           LEFT JOIN backup_device_states s ON s.device_id = d.id
          WHERE d.status = 'active' AND d.modules ->> 'backups' IN ${FILE_MODULES_SQL} AND s.overdue_since IS NULL
            AND COALESCE(ls.at, LEAST(fr.at, p.updated_at), d.enrolled_at, d.created_at) < $1)
       INSERT INTO backup_device_states AS t (device_id, overdue_since)
       SELECT device_id, $2 FROM candidates
       ON CONFLICT (device_id) DO UPDATE SET overdue_since = EXCLUDED.overdue_since WHERE t.overdue_since IS NULL
       RETURNING t.device_id, (SELECT c.last_success_at FROM candidates c WHERE c.device_id = t.device_id) AS last_success_at`,
      [before, now],
    );
    return rows.map((r) => ({ deviceId: r.device_id, lastSuccessAt: r.last_success_at ? new Date(r.last_success_at) : null }));
  }

  /**
   * Sets each reported device's quota flag from its usage (above `share` of a known quota) and
   * returns the devices whose flag changed; a device first seen below the line is no change.
   */
  async quotaChanges(deviceIds: string[], share: number): Promise<QuotaChange[]> {
    if (deviceIds.length === 0) return [];
    const rows: Array<{ device_id: string; high: boolean; inserted: boolean; used_bytes: string; quota_bytes: string | null }> =
      await this.db.manager().query(
        `WITH cur AS (
           SELECT u.device_id, u.used_bytes, u.quota_bytes,
                  (u.quota_bytes IS NOT NULL AND u.quota_bytes > 0 AND u.used_bytes > u.quota_bytes * $2::double precision) AS high
             FROM backup_device_usage u WHERE u.device_id = ANY($1::uuid[]))
         INSERT INTO backup_device_states AS t (device_id, quota_high)
         SELECT device_id, high FROM cur
         ON CONFLICT (device_id) DO UPDATE SET quota_high = EXCLUDED.quota_high WHERE t.quota_high IS DISTINCT FROM EXCLUDED.quota_high
         RETURNING t.device_id, t.quota_high AS high, (t.xmax = 0) AS inserted,
                   (SELECT c.used_bytes::text FROM cur c WHERE c.device_id = t.device_id) AS used_bytes,
                   (SELECT c.quota_bytes::text FROM cur c WHERE c.device_id = t.device_id) AS quota_bytes`,
        [deviceIds, share],
      );
    return rows
      .filter((r) => !(r.inserted && !r.high))
      .map((r) => ({ deviceId: r.device_id, high: r.high, usedBytes: r.used_bytes, quotaBytes: r.quota_bytes }));
  }
}
