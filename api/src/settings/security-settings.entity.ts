import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A single row (id = 1): the fleet-wide security policy. */
@Entity({ name: 'security_settings' })
export class SecuritySettingsEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'require_totp', type: 'boolean', default: false })
  requireTotp!: boolean;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
