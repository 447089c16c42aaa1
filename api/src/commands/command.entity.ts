import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { CommandAction, CommandStatus, JsonObject } from '@xspectre/contracts';

/**
 * A signed command and its lifecycle. The signed fields (key id, id, device, action, params,
 * nonce, issue and expiry time) are stored as signed: the agent verifies them, so a row edited
 * in the database is refused on the device, never executed.
 */
@Entity({ name: 'commands' })
@Check('chk_commands_status', `"status" IN ('queued', 'delivered', 'running', 'succeeded', 'failed', 'rejected', 'expired', 'interrupted')`)
@Index('ix_commands_device_issued', ['deviceId', 'issuedAt'])
@Index('ix_commands_issued', ['issuedAt'])
@Index('ix_commands_open', ['deviceId'], { where: `"status" IN ('queued', 'delivered')` })
export class CommandEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_commands_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  action!: CommandAction;

  @Column({ type: 'jsonb' })
  params!: JsonObject;

  @Column({ type: 'boolean' })
  critical!: boolean;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Index('uq_commands_nonce', { unique: true })
  @Column({ type: 'text' })
  nonce!: string;

  @Column({ name: 'issued_at', type: 'timestamptz' })
  issuedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'text' })
  signature!: string;

  @Column({ type: 'text' })
  status!: CommandStatus;

  @Column({ name: 'requested_by_user_id', type: 'uuid', nullable: true })
  requestedByUserId!: string | null;

  @Column({ name: 'requested_by', type: 'text' })
  requestedBy!: string;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ type: 'text', nullable: true })
  stdout!: string | null;

  @Column({ type: 'text', nullable: true })
  stderr!: string | null;

  @Column({ name: 'stdout_truncated', type: 'boolean', default: false })
  stdoutTruncated!: boolean;

  @Column({ name: 'stderr_truncated', type: 'boolean', default: false })
  stderrTruncated!: boolean;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;
}
