import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A single row (id = 1): the fleet-wide security policy. */
@Entity({ name: 'security_settings' })
export class SecuritySettingsEntity {
  @PrimaryColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'require_totp', type: 'boolean', default: false })
  requireTotp!: boolean;

  /** Only SSO sign-ins, except the break-glass accounts below (their password and TOTP). */
  @Column({ name: 'sso_required', type: 'boolean', default: false })
  ssoRequired!: boolean;

  @Column({ name: 'sso_break_glass_user_ids', type: 'uuid', array: true, default: () => "'{}'" })
  ssoBreakGlassUserIds!: string[];

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
