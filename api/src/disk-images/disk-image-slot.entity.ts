import { Check, Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';

export type DiskImageSlotOutcome = 'queued' | 'skipped' | 'failed';

/**
 * One weekly full-disk image slot of a FULL or HYBRID device (disk-image-schedule.service.ts): the
 * key (device, site-local date) makes the slot happen once however many workers see it. queued:
 * a job was created; skipped: another job of the device was open (job_id is that job); failed:
 * the slot could not start (no active recovery medium: a failed job carries the reason and alerts).
 */
@Entity({ name: 'disk_image_slots' })
@Check('chk_disk_image_slots_outcome', `"outcome" IN ('queued', 'skipped', 'failed')`)
export class DiskImageSlotEntity {
  @ForeignKey('DeviceEntity', { name: 'fk_disk_image_slots_device', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'device_id', type: 'uuid', primaryKeyConstraintName: 'pk_disk_image_slots' })
  deviceId!: string;

  @PrimaryColumn({ name: 'slot_date', type: 'date', primaryKeyConstraintName: 'pk_disk_image_slots' })
  slotDate!: string;

  @Column({ name: 'due_at', type: 'timestamptz' })
  dueAt!: Date;

  @Column({ type: 'text' })
  outcome!: DiskImageSlotOutcome;

  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
