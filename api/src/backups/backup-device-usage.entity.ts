import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/** What a device's repository takes on the backup server, as last reported. */
@Entity({ name: 'backup_device_usage' })
export class BackupDeviceUsageEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_backup_device_usage_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_backup_device_usage' })
  deviceId!: string;

  /** The service credential of the backup server that reported it. */
  @Column({ name: 'credential_id', type: 'uuid' })
  credentialId!: string;

  @Column({ name: 'used_bytes', type: 'bigint' })
  usedBytes!: string;

  @Column({ name: 'quota_bytes', type: 'bigint', nullable: true })
  quotaBytes!: string | null;

  @Column({ name: 'snapshot_count', type: 'integer' })
  snapshotCount!: number;

  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;
}
