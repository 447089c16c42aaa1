import { Check, Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { RecoveryHardware, RecoveryProgress } from '@xspectre/contracts';

export type RecoveryMediumState = 'active' | 'revoked';

/**
 * One recovery stick of a device (issue 16): its own WireGuard key (the public half only), overlay
 * address from the recovery pool and credential (its SHA-256 only), never the device's. While the
 * stick runs, the recovery-mode columns say so (registered_at, boot_id, hardware, progress); they
 * are cleared when the device's normal agent is heard again or the stick is revoked.
 */
@Entity({ name: 'recovery_media' })
@Check('chk_recovery_media_state', `"state" IN ('active', 'revoked')`)
@Index('ix_recovery_media_device_created', ['deviceId', 'createdAt'])
// At most one active medium per device, and the credential lookup (partial indexes owned by the migration).
@Index('uq_recovery_media_active_device', { synchronize: false })
@Index('ix_recovery_media_registered', { synchronize: false })
export class RecoveryMediumEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_recovery_media' })
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_recovery_media_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @Column({ type: 'text' })
  state!: RecoveryMediumState;

  @Column({ name: 'wg_public_key', type: 'text' })
  wgPublicKey!: string;

  @Column({ name: 'overlay_address', type: 'text' })
  overlayAddress!: string;

  /** SHA-256 (hex) of the `xsr1.…` credential. */
  @Index('uq_recovery_media_credential_hash', { unique: true })
  @Column({ name: 'credential_hash', type: 'text' })
  credentialHash!: string;

  @Column({ name: 'image_sha256', type: 'text' })
  imageSha256!: string;

  /** bigint: node-postgres hands it over as text. */
  @Column({ name: 'image_size_bytes', type: 'bigint' })
  imageSizeBytes!: string;

  /** Until when the personalised image (it holds the secrets) can be downloaded; null once it is deleted. */
  @Column({ name: 'download_expires_at', type: 'timestamptz', nullable: true })
  downloadExpiresAt!: Date | null;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_by', type: 'text', nullable: true })
  revokedBy!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt!: Date | null;

  @Column({ name: 'registered_at', type: 'timestamptz', nullable: true })
  registeredAt!: Date | null;

  @Column({ name: 'boot_id', type: 'uuid', nullable: true })
  bootId!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  hardware!: RecoveryHardware | null;

  /** What the stick reported at registration besides its hardware (agent version, recipe hash, kernel). */
  @Column({ name: 'agent_info', type: 'jsonb', nullable: true })
  agentInfo!: { agentVersion: string; recipeHash: string | null; kernel: string | null } | null;

  /** The host key of the sshd this boot started (`ssh-ed25519 …`): pinned for recovery shells of this boot only. */
  @Column({ name: 'ssh_host_key', type: 'text', nullable: true })
  sshHostKey!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  progress!: RecoveryProgress | null;

  @Column({ name: 'progress_at', type: 'timestamptz', nullable: true })
  progressAt!: Date | null;
}
