import { Check, Unique, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '@xspectre/contracts';

@Entity({ name: 'users' })
@Unique('uq_users_email', ['email'])
@Check('chk_users_role', `"role" IN ('super_admin', 'soc_operator', 'read_only')`)
@Check('chk_users_status', `"status" IN ('active', 'disabled')`)
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Stored lower-case; unique. */
  @Column({ type: 'text' })
  email!: string;

  @Column({ name: 'display_name', type: 'text' })
  displayName!: string;

  @Column({ type: 'text' })
  role!: Role;

  @Column({ type: 'text', default: 'active' })
  status!: 'active' | 'disabled';

  /** bcrypt; null for an account created by an SSO login (it has no local password). */
  @Column({ name: 'password_hash', type: 'text', nullable: true })
  passwordHash!: string | null;

  /** AES-256-GCM sealed base32 secret; set once TOTP is enabled. */
  @Column({ name: 'totp_secret_sealed', type: 'text', nullable: true })
  totpSecretSealed!: string | null;

  /** Sealed secret between setup and the first valid code. */
  @Column({ name: 'totp_pending_secret_sealed', type: 'text', nullable: true })
  totpPendingSecretSealed!: string | null;

  @Column({ name: 'totp_enabled', type: 'boolean', default: false })
  totpEnabled!: boolean;

  /** Highest TOTP time step accepted: codes at or below it are replays. */
  @Column({ name: 'totp_last_step', type: 'bigint', nullable: true })
  totpLastStep!: string | null;

  @Column({ name: 'failed_login_count', type: 'integer', default: 0 })
  failedLoginCount!: number;

  /** Login backoff: no attempt is checked before this time. */
  @Column({ name: 'backoff_until', type: 'timestamptz', nullable: true })
  backoffUntil!: Date | null;

  /** Hard lock after too many failures; only an administrator clears it. */
  @Column({ name: 'is_locked', type: 'boolean', default: false })
  isLocked!: boolean;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
