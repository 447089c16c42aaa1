import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import type { ScannerStats } from '@xspectre/contracts';

/**
 * The latest `scannerStats` a scanner's agent sent (contracts/src/scanner-stats.ts): the whole
 * document, and the columns the fleet view sorts and filters by. A cache: the agent sends it
 * again within 10 minutes, so a snapshot lost after the heartbeat committed comes back.
 */
@Entity({ name: 'scanner_snapshots' })
export class ScannerSnapshotEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_scanner_snapshots_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_scanner_snapshots' })
  deviceId!: string;

  @Column({ name: 'collected_at', type: 'timestamptz' })
  collectedAt!: Date;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Column({ name: 'gmp_reachable', type: 'boolean' })
  gmpReachable!: boolean;

  @Column({ name: 'gmp_error', type: 'text', nullable: true })
  gmpError!: string | null;

  /** The NVT feed's version as gvmd reports it (usually YYYYMMDDhhmm). */
  @Column({ name: 'nvt_feed_version', type: 'text', nullable: true })
  nvtFeedVersion!: string | null;

  @Column({ name: 'feeds_syncing', type: 'boolean' })
  feedsSyncing!: boolean;

  @Column({ name: 'tasks_running', type: 'integer' })
  tasksRunning!: number;

  @Column({ name: 'tasks_queued', type: 'integer' })
  tasksQueued!: number;

  @Column({ type: 'jsonb' })
  stats!: ScannerStats;

  /** Successive reports with GMP unreachable (not an authentication refusal), and since when. */
  @Column({ name: 'gmp_unreachable_polls', type: 'integer', default: 0 })
  gmpUnreachablePolls!: number;

  @Column({ name: 'gmp_unreachable_since', type: 'timestamptz', nullable: true })
  gmpUnreachableSince!: Date | null;

  /** The first report's collection time (a scanner that never finished a scan counts from it). */
  @Column({ name: 'first_collected_at', type: 'timestamptz' })
  firstCollectedAt!: Date;

  /** Feed type → since when it syncs (gvmd gives no start time for NVT syncs): the first report that showed it. */
  @Column({ name: 'syncing_since', type: 'jsonb', default: () => `'{}'` })
  syncingSince!: Record<string, string>;

  /**
   * Core service → since when its image tag is behind the fleet's newest, and the tags (kept by
   * the alert engine, which sees the whole fleet: api/src/scanners/scanner-health.service.ts).
   */
  @Column({ name: 'versions_behind', type: 'jsonb', default: () => `'{}'` })
  versionsBehind!: Record<string, VersionBehind>;
}

export interface VersionBehind {
  since: string;
  tag: string;
  newest: string;
}
