import { Check, Column, Entity, ForeignKey, PrimaryColumn, Unique } from 'typeorm';

/** A site's feed update schedule (contracts ScannerFeedScheduleSchema): weekdays and hour in UTC, jitter per scanner. */
@Entity({ name: 'scanner_feed_schedules' })
@Check('chk_scanner_feed_schedules_hour', `"hour_utc" BETWEEN 0 AND 23`)
@Check('chk_scanner_feed_schedules_jitter', `"jitter_minutes" BETWEEN 0 AND 240`)
export class ScannerFeedScheduleEntity {
  @ForeignKey('SiteEntity', { name: 'fk_scanner_feed_schedules_site', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'site_id', type: 'uuid', primaryKeyConstraintName: 'pk_scanner_feed_schedules' })
  siteId!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  /** 0 = Sunday … 6 = Saturday, each once. */
  @Column({ type: 'smallint', array: true })
  weekdays!: number[];

  @Column({ name: 'hour_utc', type: 'smallint' })
  hourUtc!: number;

  @Column({ name: 'jitter_minutes', type: 'smallint' })
  jitterMinutes!: number;

  @Column({ name: 'prune_old_images', type: 'boolean' })
  pruneOldImages!: boolean;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy!: string;
}

/**
 * One scheduled feed update of one scanner: a row per device and slot (uq_scanner_feed_runs_slot),
 * so a worker restart or a second worker never schedules it twice; `command_id` is set in the
 * transaction that queues its command (at the device's poll), so it is queued once.
 */
@Entity({ name: 'scanner_feed_runs' })
@Unique('uq_scanner_feed_runs_slot', ['deviceId', 'slotAt'])
export class ScannerFeedRunEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_scanner_feed_runs' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_scanner_feed_runs_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  /** The schedule's time (UTC), before jitter. */
  @Column({ name: 'slot_at', type: 'timestamptz' })
  slotAt!: Date;

  /** The slot plus this device's jitter: when its command may be queued. */
  @Column({ name: 'due_at', type: 'timestamptz' })
  dueAt!: Date;

  @Column({ name: 'prune_old_images', type: 'boolean' })
  pruneOldImages!: boolean;

  @Column({ name: 'command_id', type: 'uuid', nullable: true })
  commandId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
