import { Check, Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/**
 * A device's file-backup policy where it differs from its type's defaults (contracts/src/backups.ts).
 * The mode itself is the device's `modules.backups` (what enrollment hands the agent), so there is
 * one place that says whether a device backs up.
 */
@Entity({ name: 'backup_policies' })
@Check('chk_backup_policies_local_time', `"local_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'`)
@Check('chk_backup_policies_keep', `"keep_daily" BETWEEN 1 AND 365 AND "keep_weekly" BETWEEN 0 AND 104`)
@Check('chk_backup_policies_image_schedule', `"image_weekday" BETWEEN 0 AND 6 AND "image_local_time" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'`)
@Check('chk_backup_policies_keep_images', `"keep_images" BETWEEN 2 AND 4`)
export class BackupPolicyEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_backup_policies_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_backup_policies' })
  deviceId!: string;

  @Column({ type: 'text', array: true })
  paths!: string[];

  @Column({ type: 'text', array: true })
  excludes!: string[];

  @Column({ name: 'local_time', type: 'text' })
  localTime!: string;

  @Column({ name: 'keep_daily', type: 'integer' })
  keepDaily!: number;

  @Column({ name: 'keep_weekly', type: 'integer' })
  keepWeekly!: number;

  /** FULL/HYBRID: the weekly image's day (0 = Sunday, as PostgreSQL's `extract(dow …)`) and local time. */
  @Column({ name: 'image_weekday', type: 'smallint', default: 0 })
  imageWeekday!: number;

  @Column({ name: 'image_local_time', type: 'text', default: '03:00' })
  imageLocalTime!: string;

  /** Full-disk images kept; travels in the image-append token to the backup server's prune. */
  @Column({ name: 'keep_images', type: 'smallint', default: 3 })
  keepImages!: number;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
