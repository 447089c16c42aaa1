import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { ScannerSnapshotEntity } from './scanner-snapshot.entity.js';

export interface ScannerRowRecord extends ScannerSnapshotEntity {
  deviceName: string;
  organizationId: string;
  siteId: string;
}

@Injectable()
export class ScannerSnapshotsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Stores the device's report unless a newer one is there (a replayed heartbeat never rolls it
   * back); true when it was stored.
   */
  async upsertNewer(r: ScannerSnapshotEntity): Promise<boolean> {
    const stored: unknown[] = await this.db.manager().query(
      `INSERT INTO scanner_snapshots (device_id, collected_at, received_at, gmp_reachable, gmp_error, nvt_feed_version, feeds_syncing, tasks_running, tasks_queued, stats)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb WHERE EXISTS (SELECT 1 FROM devices WHERE id = $1)
       ON CONFLICT (device_id) DO UPDATE SET collected_at = EXCLUDED.collected_at, received_at = EXCLUDED.received_at,
              gmp_reachable = EXCLUDED.gmp_reachable, gmp_error = EXCLUDED.gmp_error, nvt_feed_version = EXCLUDED.nvt_feed_version,
              feeds_syncing = EXCLUDED.feeds_syncing, tasks_running = EXCLUDED.tasks_running, tasks_queued = EXCLUDED.tasks_queued, stats = EXCLUDED.stats
        WHERE scanner_snapshots.collected_at < EXCLUDED.collected_at
       RETURNING device_id`,
      [
        r.deviceId,
        r.collectedAt,
        r.receivedAt,
        r.gmpReachable,
        r.gmpError,
        r.nvtFeedVersion,
        r.feedsSyncing,
        r.tasksRunning,
        r.tasksQueued,
        JSON.stringify(r.stats),
      ],
    );
    return stored.length > 0;
  }

  find(deviceId: string): Promise<ScannerSnapshotEntity | null> {
    return this.db.manager().getRepository(ScannerSnapshotEntity).findOneBy({ deviceId });
  }

  async page(filter: {
    staleBefore: Date;
    stale?: boolean;
    limit: number;
    offset: number;
  }): Promise<{ items: ScannerRowRecord[]; total: number }> {
    const qb = this.db
      .manager()
      .getRepository(ScannerSnapshotEntity)
      .createQueryBuilder('s')
      .innerJoin('devices', 'd', 'd.id = s.device_id')
      .addSelect(['d.name AS device_name', 'd.organization_id AS organization_id', 'd.site_id AS site_id'])
      .where(`d.status = 'active'`);
    if (filter.stale === true) qb.andWhere('s.collected_at < :before', { before: filter.staleBefore });
    if (filter.stale === false) qb.andWhere('s.collected_at >= :before', { before: filter.staleBefore });
    const total = await qb.getCount();
    const { entities, raw } = await qb
      .orderBy('d.name', 'ASC')
      .addOrderBy('s.device_id', 'ASC')
      .offset(filter.offset)
      .limit(filter.limit)
      .getRawAndEntities();
    return {
      items: entities.map((e, i) => {
        const r = raw[i] as { device_name: string; organization_id: string; site_id: string };
        return Object.assign(e, { deviceName: r.device_name, organizationId: r.organization_id, siteId: r.site_id });
      }),
      total,
    };
  }
}
