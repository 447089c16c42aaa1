import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn, Unique } from 'typeorm';
import type { BackupProgress, BackupRestoreRequest, BackupRunKind, BackupRun, BackupRunSummary } from '@xspectre/contracts';

/**
 * One backup, check or restore of a device. A scheduled run carries the device-local date of its
 * slot, unique per device and kind: however often the scheduling job runs, on however many
 * instances, and across restarts, a slot gets one run.
 */
@Entity({ name: 'backup_runs' })
@Unique('uq_backup_runs_slot', ['deviceId', 'kind', 'slotDate'])
@Index('ix_backup_runs_device_created', ['deviceId', 'createdAt'])
// The runs a device's poll turns into commands: a handful of rows, looked up at every poll.
@Index('ix_backup_runs_due', ['deviceId'], { where: `"status" = 'scheduled' AND "command_id" IS NULL` })
@Check('chk_backup_runs_kind', `"kind" IN ('backup', 'check', 'restore')`)
@Check('chk_backup_runs_status', `"status" IN ('scheduled', 'running', 'succeeded', 'failed', 'missed')`)
export class BackupRunEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_backup_runs' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_backup_runs_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  kind!: BackupRunKind;

  /** Device-local date of the slot (YYYY-MM-DD); null for runs started by hand. */
  @Column({ name: 'slot_date', type: 'date', nullable: true })
  slotDate!: string | null;

  @Column({ name: 'due_at', type: 'timestamptz' })
  dueAt!: Date;

  @Column({ type: 'text' })
  status!: BackupRun['status'];

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** The `backup.run` command that carries it (set at the device's poll). */
  @Column({ name: 'command_id', type: 'uuid', nullable: true })
  commandId!: string | null;

  /** A restore's request (snapshot, paths, target), as the operator asked for it. */
  @Column({ type: 'jsonb', nullable: true })
  request!: BackupRestoreRequest | null;

  /** Who asked for a run by hand (null: the schedule). */
  @Column({ name: 'requested_by', type: 'text', nullable: true })
  requestedBy!: string | null;

  /** What restic made (the agent's summary line), for a succeeded backup. */
  @Column({ type: 'jsonb', nullable: true })
  summary!: BackupRunSummary | null;

  /** The weekly `restic check` this backup did (null: none asked for, or not a backup). */
  @Column({ type: 'jsonb', nullable: true })
  check!: BackupRun['check'];

  /** The latest progress the agent posted while the run was under way; cleared when it finishes. */
  @Column({ type: 'jsonb', nullable: true })
  progress!: BackupProgress | null;

  @Column({ name: 'progress_at', type: 'timestamptz', nullable: true })
  progressAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
