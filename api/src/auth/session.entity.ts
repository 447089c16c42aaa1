import { Check, ForeignKey, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One login: the family that every rotated refresh token of that login belongs to. */
@Entity({ name: 'auth_sessions' })
@Index('ix_auth_sessions_user', ['userId'])
@Check('chk_auth_sessions_auth_method', `"auth_method" IN ('password', 'sso')`)
export class SessionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ForeignKey('UserEntity', { name: 'fk_auth_sessions_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Absolute end of the session, however often it is refreshed. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoke_reason', type: 'text', nullable: true })
  revokeReason!: string | null;

  /** Last TOTP verification in this session: critical routes need it to be recent. */
  @Column({ name: 'step_up_at', type: 'timestamptz', nullable: true })
  stepUpAt!: Date | null;

  @Column({ name: 'source_ip', type: 'text', nullable: true })
  sourceIp!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  /** How the session signed in; SSO sessions step up at their identity provider, not with TOTP. */
  @Column({ name: 'auth_method', type: 'text', default: 'password' })
  authMethod!: 'password' | 'sso';

  /** The identity provider of an SSO session; deleting the provider ends its sessions. */
  @ForeignKey('IdentityProviderEntity', { name: 'fk_auth_sessions_identity_provider', onDelete: 'CASCADE' })
  @Column({ name: 'identity_provider_id', type: 'uuid', nullable: true })
  identityProviderId!: string | null;
}
