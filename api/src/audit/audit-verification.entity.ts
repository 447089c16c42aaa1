import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One run of the worker's chain verification (api/src/audit/audit.service.ts verifyChain): how
 * far it reached and whether the chain held. The next incremental run starts from the newest
 * intact one; `mac` (HMAC, key outside the database) keeps a row written by someone with only
 * database access from moving that starting point.
 */
@Entity({ name: 'audit_verifications' })
export class AuditVerificationEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint', primaryKeyConstraintName: 'pk_audit_verifications' })
  id!: string;

  @Column({ name: 'verified_at', type: 'timestamptz' })
  verifiedAt!: Date;

  /** Walked from the chain's first row (else from the last verified row). */
  @Column({ type: 'boolean' })
  full!: boolean;

  /** The first row this run read. */
  @Column({ name: 'from_id', type: 'bigint' })
  fromId!: string;

  /** The newest row verified: the chain is intact up to here when `intact`. */
  @Column({ name: 'through_id', type: 'bigint' })
  throughId!: string;

  @Column({ name: 'through_hash', type: 'text' })
  throughHash!: string;

  @Column({ type: 'integer' })
  checked!: number;

  @Column({ type: 'boolean' })
  intact!: boolean;

  @Column({ name: 'first_broken_id', type: 'bigint', nullable: true })
  firstBrokenId!: string | null;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'text' })
  mac!: string;
}
