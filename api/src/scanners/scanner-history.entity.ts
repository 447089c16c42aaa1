import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { SeverityCounts } from '@xspectre/contracts';

/**
 * Each task's state across successive reports: since when it has its status, and when its
 * progress last moved (a task `Requested` for an hour, or `Running` with progress frozen for
 * two, is stuck). Times are the reports' collection times.
 */
@Entity({ name: 'scanner_task_states' })
export class ScannerTaskStateEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_scanner_task_states_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_scanner_task_states' })
  deviceId!: string;

  @PrimaryColumn({ name: 'task_id', type: 'text', primaryKeyConstraintName: 'pk_scanner_task_states' })
  taskId!: string;

  @Column({ type: 'text' })
  status!: string;

  @Column({ name: 'status_since', type: 'timestamptz' })
  statusSince!: Date;

  @Column({ type: 'integer', nullable: true })
  progress!: number | null;

  @Column({ name: 'progress_changed_at', type: 'timestamptz' })
  progressChangedAt!: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;

  /**
   * The scheduled run the task owes: the `nextRunAt` of an earlier report, kept once it passed
   * until the task starts (gvmd moves `next_time` on past a missed run, so the latest report alone
   * cannot tell). Null: no schedule.
   */
  @Column({ name: 'expected_run_at', type: 'timestamptz', nullable: true })
  expectedRunAt!: Date | null;
}

/** Severity counts of each finished report, once per report id (trends without results leaving the site). */
@Entity({ name: 'scanner_report_counts' })
@Index('ix_scanner_report_counts_device_ended', ['deviceId', 'scanEndedAt'])
export class ScannerReportCountsEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_scanner_report_counts_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_scanner_report_counts' })
  deviceId!: string;

  @PrimaryColumn({ name: 'report_id', type: 'text', primaryKeyConstraintName: 'pk_scanner_report_counts' })
  reportId!: string;

  @Column({ name: 'task_id', type: 'text' })
  taskId!: string;

  @Column({ name: 'scan_ended_at', type: 'timestamptz', nullable: true })
  scanEndedAt!: Date | null;

  @Column({ type: 'jsonb' })
  counts!: SeverityCounts;

  @Column({ name: 'error_count', type: 'integer', nullable: true })
  errorCount!: number | null;
}

/** When a scanner first reported each feed version: how long a site takes to pick up a new feed. */
@Entity({ name: 'scanner_feed_versions' })
export class ScannerFeedVersionEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_scanner_feed_versions_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_scanner_feed_versions' })
  deviceId!: string;

  @PrimaryColumn({ name: 'feed_type', type: 'text', primaryKeyConstraintName: 'pk_scanner_feed_versions' })
  feedType!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_scanner_feed_versions' })
  version!: string;

  @Column({ name: 'first_seen_at', type: 'timestamptz' })
  firstSeenAt!: Date;
}

/**
 * Docker's data filesystem use, at most one sample per scanner per hour, kept 8 days: the last
 * week's growth tells when it will be full.
 */
@Entity({ name: 'scanner_docker_samples' })
export class ScannerDockerSampleEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_scanner_docker_samples_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_scanner_docker_samples' })
  deviceId!: string;

  /** The hour the sample stands for (the report's collection time, truncated). */
  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: 'pk_scanner_docker_samples' })
  hour!: Date;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'used_bytes', type: 'bigint' })
  usedBytes!: string;

  @Column({ name: 'total_bytes', type: 'bigint' })
  totalBytes!: string;
}
