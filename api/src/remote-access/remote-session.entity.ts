import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { RemoteSessionEndReason, RemoteSessionKind } from '@xspectre/contracts';

/**
 * One terminal or file-manager session of an operator on a device: who, where, when, which
 * certificate (its key id is what the device's auth log shows), which API instance holds the SSH
 * connection, and for terminals the recording file with its size and, once ended, its SHA-256
 * (sealed into the session's closing audit row). Names are kept as they were at the session's
 * start: a recording stays attributable after a rename.
 */
@Entity({ name: 'remote_sessions' })
@Check('chk_remote_sessions_kind', `"kind" IN ('terminal', 'files')`)
@Index('ix_remote_sessions_opened', ['openedAt', 'id'])
@Index('ix_remote_sessions_device_opened', ['deviceId', 'openedAt'])
@Index('ix_remote_sessions_user_opened', ['userId', 'openedAt'])
export class RemoteSessionEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_remote_sessions' })
  id!: string;

  @Column({ type: 'text' })
  kind!: RemoteSessionKind;

  @ForeignKey('DeviceEntity', { name: 'fk_remote_sessions_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ name: 'device_name', type: 'text' })
  deviceName!: string;

  @ForeignKey('UserEntity', { name: 'fk_remote_sessions_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'user_email', type: 'text' })
  userEmail!: string;

  /** The operator's login session: logging out ends its remote sessions. */
  @Column({ name: 'auth_session_id', type: 'uuid' })
  authSessionId!: string;

  /** Which API instance holds the SSH connection (process id on a host name). */
  @Column({ name: 'instance_id', type: 'text' })
  instanceId!: string;

  @Column({ name: 'certificate_key_id', type: 'text' })
  certificateKeyId!: string;

  @Column({ name: 'opened_at', type: 'timestamptz' })
  openedAt!: Date;

  @Column({ name: 'closed_at', type: 'timestamptz', nullable: true })
  closedAt!: Date | null;

  @Column({ name: 'end_reason', type: 'text', nullable: true })
  endReason!: RemoteSessionEndReason | null;

  /** File name under API_TERMINAL_RECORDINGS_DIR; null for file sessions and after retention removed it. */
  @Column({ name: 'recording_file', type: 'text', nullable: true })
  recordingFile!: string | null;

  @Column({ name: 'recording_bytes', type: 'bigint', default: 0 })
  recordingBytes!: string;

  @Column({ name: 'recording_sha256', type: 'text', nullable: true })
  recordingSha256!: string | null;

  @Column({ name: 'input_recorded', type: 'boolean', default: false })
  inputRecorded!: boolean;
}
