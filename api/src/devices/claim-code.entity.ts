import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** One-time enrollment secret for one device; only its keyed hash is stored. */
@Entity({ name: 'claim_codes' })
@Unique('uq_claim_codes_hash', ['codeHash'])
@Index('ix_claim_codes_device', ['deviceId'])
export class ClaimCodeEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ForeignKey('DeviceEntity', { name: 'fk_claim_codes_device', onDelete: 'CASCADE' })
  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  /** HMAC-SHA256 of the normalized code under a key derived from API_SECRET_KEY. */
  @Column({ name: 'code_hash', type: 'text' })
  codeHash!: string;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  @Column({ name: 'used_from_ip', type: 'text', nullable: true })
  usedFromIp!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
