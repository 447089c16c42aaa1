import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import type { DiskHealthReport } from '@xspectre/contracts';

/**
 * The latest SMART reading of a device's disks (a heartbeat's `diskHealth`), one row per device,
 * replaced by each newer reading; `failing` keeps the failing disks between readings so a
 * `disk.smart_failed` event is written once per episode (disk-health.ts).
 */
@Entity({ name: 'device_disk_health' })
export class DiskHealthEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_device_disk_health_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_device_disk_health' })
  deviceId!: string;

  /** The heartbeat that carried it: an older one (a late replay) changes nothing. */
  @Column({ type: 'bigint' })
  sequence!: string;

  @Column({ name: 'reported_at', type: 'timestamptz' })
  reportedAt!: Date;

  @Column({ type: 'jsonb' })
  report!: DiskHealthReport;

  /** The disks counted as failing (serial, else device path) and why. */
  @Column({ type: 'jsonb', default: () => `'[]'` })
  failing!: Array<{ disk: string; reason: string }>;
}
