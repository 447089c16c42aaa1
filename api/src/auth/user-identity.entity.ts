import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/**
 * An SSO identity of an operator: the IdP's stable subject (OIDC `sub`, SAML NameID), never the
 * e-mail. Created at the first SSO login (just in time) or linked by an administrator to an
 * existing local account.
 */
@Entity({ name: 'user_identities' })
@Unique('uq_user_identities_subject', ['providerId', 'subject'])
@Unique('uq_user_identities_user_provider', ['userId', 'providerId'])
export class UserIdentityEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ForeignKey('UserEntity', { name: 'fk_user_identities_user', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @ForeignKey('IdentityProviderEntity', { name: 'fk_user_identities_provider', onDelete: 'CASCADE' })
  @Index('ix_user_identities_provider')
  @Column({ name: 'provider_id', type: 'uuid' })
  providerId!: string;

  @Column({ type: 'text' })
  subject!: string;

  /** The e-mail the IdP sent at the last login (information only; matching is by subject). */
  @Column({ type: 'text', nullable: true })
  email!: string | null;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
