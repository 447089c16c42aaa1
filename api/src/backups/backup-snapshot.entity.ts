import { Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';

/**
 * The catalog: one row per snapshot a device's repository listed in its last successful run's
 * result line (restic's ids, full length). Sizes, files and duration come from the run whose
 * summary made the snapshot; a snapshot forgotten by prune leaves the catalog at the next sync.
 */
@Entity({ name: 'backup_snapshots' })
@Unique('uq_backup_snapshots_device_snapshot', ['deviceId', 'snapshotId'])
@Index('ix_backup_snapshots_device_time', ['deviceId', 'time'])
export class BackupSnapshotEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_backup_snapshots' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_backup_snapshots_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ name: 'snapshot_id', type: 'text' })
  snapshotId!: string;

  @Column({ type: 'timestamptz' })
  time!: Date;

  @Column({ type: 'text', array: true, nullable: true })
  paths!: string[] | null;

  @Column({ name: 'total_bytes', type: 'bigint', nullable: true })
  totalBytes!: string | null;

  @Column({ name: 'data_added_bytes', type: 'bigint', nullable: true })
  dataAddedBytes!: string | null;

  @Column({ name: 'total_files', type: 'bigint', nullable: true })
  totalFiles!: string | null;

  @Column({ name: 'duration_seconds', type: 'double precision', nullable: true })
  durationSeconds!: number | null;

  /** The backup run that made it (null: a snapshot made outside our runs; set null if the run row goes). */
  @ForeignKey('BackupRunEntity', { name: 'fk_backup_snapshots_run', onDelete: 'SET NULL' })
  @Column({ name: 'run_id', type: 'uuid', nullable: true })
  runId!: string | null;
}
