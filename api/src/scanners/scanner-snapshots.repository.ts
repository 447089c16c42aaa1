import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { ScannerSnapshotEntity } from './scanner-snapshot.entity.js';

/** What one report brings; the rest of the row is kept across reports. */
export type SnapshotReport = Omit<
  ScannerSnapshotEntity,
  'gmpUnreachablePolls' | 'gmpUnreachableSince' | 'firstCollectedAt' | 'syncingSince' | 'versionsBehind'
>;

const GMP_ANSWERED = new Set(['auth_failed', 'permission']);

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
   * back); true when it was stored. What successive reports tell is kept here too: the run of
   * GMP-unreachable reports, since when each feed syncs, the first report's time.
   */
  async upsertNewer(r: SnapshotReport): Promise<boolean> {
    // An authentication or permission refusal is gvmd answering: the gmp_auth_failed check's, not unreachable.
    const unreachable = !r.stats.gmp.reachable && !GMP_ANSWERED.has(r.stats.gmp.error?.code ?? '');
    const syncing = Object.fromEntries(
      r.stats.feeds.filter((f) => f.isSyncing).map((f) => [f.type, f.syncingSince ?? r.collectedAt.toISOString()]),
    );
    const stored: unknown[] = await this.db.manager().query(
      `INSERT INTO scanner_snapshots (device_id, collected_at, received_at, gmp_reachable, gmp_error, nvt_feed_version, feeds_syncing, tasks_running, tasks_queued, stats,
              gmp_unreachable_polls, gmp_unreachable_since, first_collected_at, syncing_since)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, CASE WHEN $11 > 0 THEN $2::timestamptz END, $2, $12::jsonb
        WHERE EXISTS (SELECT 1 FROM devices WHERE id = $1)
       ON CONFLICT (device_id) DO UPDATE SET collected_at = EXCLUDED.collected_at, received_at = EXCLUDED.received_at,
              gmp_reachable = EXCLUDED.gmp_reachable, gmp_error = EXCLUDED.gmp_error, nvt_feed_version = EXCLUDED.nvt_feed_version,
              feeds_syncing = EXCLUDED.feeds_syncing, tasks_running = EXCLUDED.tasks_running, tasks_queued = EXCLUDED.tasks_queued, stats = EXCLUDED.stats,
              gmp_unreachable_polls = CASE WHEN EXCLUDED.gmp_unreachable_polls = 0 THEN 0 ELSE scanner_snapshots.gmp_unreachable_polls + 1 END,
              gmp_unreachable_since = CASE WHEN EXCLUDED.gmp_unreachable_polls = 0 THEN NULL
                                           ELSE COALESCE(scanner_snapshots.gmp_unreachable_since, EXCLUDED.gmp_unreachable_since) END,
              syncing_since = COALESCE((SELECT jsonb_object_agg(e.key, COALESCE(scanner_snapshots.syncing_since -> e.key, e.value))
                                          FROM jsonb_each(EXCLUDED.syncing_since) AS e), '{}'::jsonb)
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
        unreachable ? 1 : 0,
        JSON.stringify(syncing),
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
