import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * The public half of the age key a device made to receive another device's repository password
 * (a replacement restoring a dead device's backups); a newer report replaces it.
 */
@Entity({ name: 'backup_transfer_keys' })
export class BackupTransferKeyEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_backup_transfer_keys_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_backup_transfer_keys' })
  deviceId!: string;

  @Column({ type: 'text' })
  recipient!: string;

  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;
}
