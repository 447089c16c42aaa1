import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import type { ServiceKind } from '@xspectre/contracts';

/** A credential of one of the product's own services (contracts/src/service-credentials.ts): only its hash is kept. */
@Entity({ name: 'service_credentials' })
@Unique('uq_service_credentials_secret_hash', ['secretHash'])
@Check('chk_service_credentials_service', `"service" IN ('backup-server')`)
export class ServiceCredentialEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_service_credentials' })
  id!: string;

  @Column({ type: 'text' })
  service!: ServiceKind;

  @Column({ type: 'text' })
  name!: string;

  /** SHA-256 of the secret (256 random bits, so no slow hash is needed). */
  @Column({ name: 'secret_hash', type: 'text' })
  secretHash!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
