import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * What the API remembers per device between backup runs and reports, so alerts fire on changes
 * only: the last check's outcome ("last verified restorable"), when the catalog was last synced,
 * the open overdue episode, and whether the repository is above 90 % of its quota.
 */
@Entity({ name: 'backup_device_states' })
export class BackupDeviceStateEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_backup_device_states_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_backup_device_states' })
  deviceId!: string;

  @Column({ name: 'catalog_synced_at', type: 'timestamptz', nullable: true })
  catalogSyncedAt!: Date | null;

  @Column({ name: 'last_check_at', type: 'timestamptz', nullable: true })
  lastCheckAt!: Date | null;

  @Column({ name: 'last_check_ok', type: 'boolean', nullable: true })
  lastCheckOk!: boolean | null;

  /** The last successful check: "last verified restorable". */
  @Column({ name: 'last_verified_at', type: 'timestamptz', nullable: true })
  lastVerifiedAt!: Date | null;

  /** Set when `backup.overdue` was recorded; cleared by the next success (one event per episode). */
  @Column({ name: 'overdue_since', type: 'timestamptz', nullable: true })
  overdueSince!: Date | null;

  @Column({ name: 'quota_high', type: 'boolean', default: false })
  quotaHigh!: boolean;
}
