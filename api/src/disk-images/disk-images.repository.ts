import { Injectable } from '@nestjs/common';
import type { DiskImageMetadata } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { IMAGE_MODULES_SQL, imageSlotsSql } from '../backups/image-slot-sql.js';
import { DiskImageEntity } from './disk-image.entity.js';

export interface DiskImageFleetRecord {
  device_id: string;
  device_name: string;
  organization_id: string;
  site_id: string;
  last_image_name: string | null;
  last_image_at: Date | null;
  last_compressed_bytes: string | null;
  last_raw_bytes: string | null;
  images: number;
  open_job_id: string | null;
  open_job_kind: string | null;
  open_job_state: string | null;
  open_job_created_at: Date | null;
  last_job_state: string | null;
  next_image_at: Date | null;
  overdue: boolean;
}

/** The catalog of full-disk images (disk_images) and its fleet view. */
@Injectable()
export class DiskImagesRepository {
  constructor(private readonly db: Database) {}

  private images() {
    return this.db.manager().getRepository(DiskImageEntity);
  }

  /** Newest first, pruned ones included (marked). */
  listForDevice(deviceId: string, limit = 100): Promise<DiskImageEntity[]> {
    return this.images().find({ where: { deviceId }, order: { imageName: 'DESC' }, take: limit });
  }

  find(deviceId: string, imageName: string): Promise<DiskImageEntity | null> {
    return this.images().findOneBy({ deviceId, imageName });
  }

  /**
   * Records an image once per (device, name): a second report of the same image (the stick
   * retried) changes nothing and says so (false).
   */
  async record(deviceId: string, commandId: string, metadata: DiskImageMetadata, at: Date): Promise<boolean> {
    const rows: unknown[] = await this.db.manager().query(
      `INSERT INTO disk_images (device_id, image_name, compressed_bytes, sha256_compressed, raw_bytes, metadata, command_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ON CONSTRAINT pk_disk_images DO NOTHING
       RETURNING image_name`,
      [
        deviceId,
        metadata.imageName,
        metadata.compressedBytes,
        metadata.sha256Compressed,
        metadata.rawBytes,
        JSON.stringify(metadata),
        commandId,
        at,
      ],
    );
    return rows.length > 0;
  }

  async markPruned(deviceId: string, imageNames: string[], at: Date): Promise<void> {
    if (imageNames.length === 0) return;
    await this.db
      .manager()
      .query(`UPDATE disk_images SET pruned_at = $3 WHERE device_id = $1 AND image_name = ANY($2::text[]) AND pruned_at IS NULL`, [
        deviceId,
        imageNames,
        at,
      ]);
  }

  /**
   * One row per active device that has an image or a job or takes weekly images (FULL, HYBRID),
   * by name; with the next weekly slot (image-slot-sql.ts) and the open overdue episode.
   */
  async fleetPage(
    filter: { limit: number; offset: number },
    now: Date,
    defaults: { weekday: number; localTime: string },
  ): Promise<{ rows: DiskImageFleetRecord[]; total: number }> {
    const from = `FROM devices d
      LEFT JOIN LATERAL (SELECT i.image_name, i.created_at, i.compressed_bytes, i.raw_bytes FROM disk_images i
                          WHERE i.device_id = d.id AND i.pruned_at IS NULL ORDER BY i.image_name DESC LIMIT 1) li ON true
      LEFT JOIN LATERAL (SELECT count(*)::int AS n FROM disk_images i WHERE i.device_id = d.id AND i.pruned_at IS NULL) ic ON true
      LEFT JOIN LATERAL (SELECT j.id, j.kind, j.state, j.created_at FROM disk_image_jobs j
                          WHERE j.device_id = d.id ORDER BY j.created_at DESC LIMIT 1) lj ON true
      WHERE d.status = 'active' AND (li.image_name IS NOT NULL OR lj.id IS NOT NULL OR d.modules ->> 'backups' IN ${IMAGE_MODULES_SQL})`;
    const [{ total }] = (await this.db.manager().query(`SELECT count(*)::int AS total ${from}`)) as [{ total: number }];
    const next = `(SELECT min(s.due_at) FROM sites st
                    LEFT JOIN backup_policies p ON p.device_id = d.id
                   CROSS JOIN LATERAL ${imageSlotsSql('$3', 'st.time_zone', 'COALESCE(p.image_weekday, $4)', 'COALESCE(p.image_local_time, $5)', [0, 1])} s
                   WHERE st.id = d.site_id AND st.time_zone IN (SELECT name FROM pg_timezone_names) AND s.due_at > $3)`;
    const rows: DiskImageFleetRecord[] = await this.db.manager().query(
      `SELECT d.id AS device_id, d.name AS device_name, d.organization_id, d.site_id,
              li.image_name AS last_image_name, li.created_at AS last_image_at,
              li.compressed_bytes::text AS last_compressed_bytes, li.raw_bytes::text AS last_raw_bytes,
              ic.n AS images,
              CASE WHEN lj.state NOT IN ('succeeded', 'failed') THEN lj.id END AS open_job_id,
              CASE WHEN lj.state NOT IN ('succeeded', 'failed') THEN lj.kind END AS open_job_kind,
              CASE WHEN lj.state NOT IN ('succeeded', 'failed') THEN lj.state END AS open_job_state,
              CASE WHEN lj.state NOT IN ('succeeded', 'failed') THEN lj.created_at END AS open_job_created_at,
              lj.state AS last_job_state,
              CASE WHEN d.modules ->> 'backups' IN ${IMAGE_MODULES_SQL} THEN ${next} END AS next_image_at,
              COALESCE((SELECT ds.overdue_since IS NOT NULL FROM disk_image_device_states ds WHERE ds.device_id = d.id), false) AS overdue
         ${from}
        ORDER BY d.name, d.id
        LIMIT $1 OFFSET $2`,
      [filter.limit, filter.offset, now, defaults.weekday, defaults.localTime],
    );
    return { rows, total };
  }
}
