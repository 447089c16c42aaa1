import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

/** Per-device full-disk image state the overdue job keeps (disk-image-overdue.service.ts): the open overdue episode. */
@Entity({ name: 'disk_image_device_states' })
export class DiskImageDeviceStateEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_disk_image_device_states_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_disk_image_device_states' })
  deviceId!: string;

  /** Set when `disk_image.overdue` was recorded; cleared by the next succeeded image (one event per episode). */
  @Column({ name: 'overdue_since', type: 'timestamptz', nullable: true })
  overdueSince!: Date | null;
}
