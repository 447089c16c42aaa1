import { Injectable } from '@nestjs/common';
import type { BackupSnapshotListing } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { BackupSnapshotEntity } from './backup-snapshot.entity.js';

/** Most catalog rows one device's page shows (a listing holds at most BACKUP_SNAPSHOT_LISTING_MAX). */
const PAGE_MAX = 1000;

@Injectable()
export class BackupSnapshotsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Makes the device's catalog the repository's listing: snapshots no longer listed (forgotten by
   * prune) go; new ones come in with size, files, duration and paths from the succeeded backup run
   * whose summary id is a prefix of (or equal to) the full id (restic's summary may give the short
   * id), the paths from the command that carried that run. Rows already there keep what they had
   * and gain what they lacked.
   */
  async sync(deviceId: string, listing: BackupSnapshotListing[]): Promise<{ added: number; removed: number }> {
    const ids = listing.map((s) => s.id);
    const removed = await this.db.changedRows(
      `DELETE FROM backup_snapshots WHERE device_id = $1 AND NOT (snapshot_id = ANY($2::text[])) RETURNING id`,
      [deviceId, ids],
    );
    if (listing.length === 0) return { added: 0, removed: removed.length };
    const rows: Array<{ inserted: boolean }> = await this.db.manager().query(
      `INSERT INTO backup_snapshots (id, device_id, snapshot_id, time, paths, total_bytes, data_added_bytes, total_files, duration_seconds, run_id)
       SELECT gen_random_uuid(), $1, l.snapshot_id, l.time, m.paths, m.total_bytes, m.data_added_bytes, m.total_files, m.duration_seconds, m.run_id
         FROM unnest($2::text[], $3::timestamptz[]) AS l(snapshot_id, time)
         LEFT JOIN LATERAL (
              SELECT r.id AS run_id, (r.summary ->> 'totalBytes')::bigint AS total_bytes,
                     (r.summary ->> 'dataAddedBytes')::bigint AS data_added_bytes, (r.summary ->> 'totalFiles')::bigint AS total_files,
                     (r.summary ->> 'durationSeconds')::double precision AS duration_seconds,
                     (SELECT array_agg(p) FROM jsonb_array_elements_text(c.params -> 'paths') AS p) AS paths
                FROM backup_runs r
                LEFT JOIN commands c ON c.id = r.command_id
               WHERE r.device_id = $1 AND r.kind = 'backup' AND r.status = 'succeeded'
                 AND r.summary ->> 'snapshotId' = left(l.snapshot_id, length(r.summary ->> 'snapshotId'))
               ORDER BY r.finished_at DESC
               LIMIT 1) m ON true
       ON CONFLICT ON CONSTRAINT uq_backup_snapshots_device_snapshot DO UPDATE SET
              run_id = COALESCE(backup_snapshots.run_id, EXCLUDED.run_id),
              paths = COALESCE(backup_snapshots.paths, EXCLUDED.paths),
              total_bytes = COALESCE(backup_snapshots.total_bytes, EXCLUDED.total_bytes),
              data_added_bytes = COALESCE(backup_snapshots.data_added_bytes, EXCLUDED.data_added_bytes),
              total_files = COALESCE(backup_snapshots.total_files, EXCLUDED.total_files),
              duration_seconds = COALESCE(backup_snapshots.duration_seconds, EXCLUDED.duration_seconds)
       RETURNING (xmax = 0) AS inserted`,
      [deviceId, ids, listing.map((s) => s.time)],
    );
    return { added: rows.filter((r) => r.inserted).length, removed: removed.length };
  }

  /** The device's catalog, newest first. */
  list(deviceId: string): Promise<BackupSnapshotEntity[]> {
    return this.db
      .manager()
      .getRepository(BackupSnapshotEntity)
      .find({ where: { deviceId }, order: { time: 'DESC', snapshotId: 'ASC' }, take: PAGE_MAX });
  }
}
