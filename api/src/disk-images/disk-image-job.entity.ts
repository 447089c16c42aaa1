import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { DiskImageJobKind, DiskImageJobState, DiskImageJobTrigger } from '@xspectre/contracts';

/**
 * A "take full image" or "restore image" job of a device and the commands it queued
 * (api/src/disk-images/disk-image-jobs.service.ts). One open job per device (uq_disk_image_jobs_open).
 */
@Entity({ name: 'disk_image_jobs' })
@Index('uq_disk_image_jobs_open', ['deviceId'], { unique: true, where: `"state" NOT IN ('succeeded', 'failed')` })
@Index('ix_disk_image_jobs_device_created', ['deviceId', 'createdAt'])
@Check('chk_disk_image_jobs_kind', `"kind" IN ('image', 'restore')`)
@Check(
  'chk_disk_image_jobs_state',
  `"state" IN ('requested', 'booting-recovery', 'imaging', 'restoring', 'rebooting', 'succeeded', 'failed')`,
)
@Check('chk_disk_image_jobs_error', `length("error") <= 1000`)
@Check('chk_disk_image_jobs_trigger', `"trigger" IN ('operator', 'schedule')`)
export class DiskImageJobEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_disk_image_jobs' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_disk_image_jobs_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  kind!: DiskImageJobKind;

  @Column({ type: 'text' })
  state!: DiskImageJobState;

  @Column({ name: 'image_name', type: 'text' })
  imageName!: string;

  /** Take: `{ disks }`; restore: `{ targets }` (as asked; the signed params are on the command). */
  @Column({ type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'requested_by', type: 'text' })
  requestedBy!: string;

  /** operator: asked for on the console; schedule: the weekly image of a FULL or HYBRID device (disk-image-schedule.service.ts). */
  @Column({ type: 'text', default: 'operator' })
  trigger!: DiskImageJobTrigger;

  /** The normal agent's `reboot-to-recovery` (null: the device was in recovery mode already). */
  @Column({ name: 'reboot_command_id', type: 'uuid', nullable: true })
  rebootCommandId!: string | null;

  /** The stick's `recovery.image` / `recovery.restore`. */
  @Column({ name: 'recovery_command_id', type: 'uuid', nullable: true })
  recoveryCommandId!: string | null;

  /** The stick's `recovery.reboot` back to the main disk. */
  @Column({ name: 'return_command_id', type: 'uuid', nullable: true })
  returnCommandId!: string | null;

  /** Since when the job waits on the device (the stick's registration, the normal agent's return): the timeout's start. */
  @Column({ name: 'waiting_since', type: 'timestamptz' })
  waitingSince!: Date;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
