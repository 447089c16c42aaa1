import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { DeviceEvent, DeviceEventType, EventSeverity } from '@xspectre/contracts';

/**
 * Security and health events of a device, appended in the transaction that detected them.
 * The alert engine reads them in id order (an outbox), so an event is never lost between the
 * write and the alert.
 */
@Entity({ name: 'device_events' })
@Check(
  'chk_device_events_type',
  `"type" IN ('fingerprint.changed', 'fingerprint.accepted', 'hardware.changed', 'journal.gap', 'device.enrolled', 'device.revoked', 'device.retired', 'backup.failed', 'backup.succeeded', 'backup.overdue', 'backup.check_failed', 'backup.check_succeeded', 'backup.quota_high', 'backup.quota_ok', 'ssh.host_key_changed', 'ssh.host_key_accepted', 'disk_image.failed', 'disk_image.succeeded', 'disk_image.overdue', 'device.recovery-mode', 'device.recovery-mode-ended', 'disk.smart_failed', 'disk.smart_ok')`,
)
@Check('chk_device_events_severity', `"severity" IN ('info', 'warning', 'critical')`)
@Index('ix_device_events_device_at', ['deviceId', 'at'])
@Index('ix_device_events_xid_id', ['xid', 'id'])
export class DeviceEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_device_events_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  type!: DeviceEventType;

  @Column({ type: 'text' })
  severity!: EventSeverity;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  details!: DeviceEvent['details'];

  /**
   * The writing transaction's id (xid8 as bigint), set by the database: the alert engine reads
   * rows in (xid, id) order below its snapshot's xmin, so a late-committing row is never skipped.
   */
  @Column({ type: 'bigint', default: () => 'current_xact_id_bigint()', insert: false, select: false })
  xid!: string;
}
