import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import type { OidcSettings, RoleRule, SamlSettings, SsoPreset, SsoProtocol } from '@xspectre/contracts';

/** One SAML 2.0 or OpenID Connect identity provider operators sign in with. */
@Entity({ name: 'identity_providers' })
@Unique('uq_identity_providers_name', ['name'])
@Check('chk_identity_providers_protocol', `"protocol" IN ('saml', 'oidc')`)
@Check('chk_identity_providers_preset', `"preset" IN ('entra', 'google', 'generic')`)
export class IdentityProviderEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  protocol!: SsoProtocol;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: 'generic' })
  preset!: SsoPreset;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** Lower-case domains; an SSO e-mail outside them is refused. */
  @Column({ name: 'allowed_email_domains', type: 'text', array: true })
  allowedEmailDomains!: string[];

  /** Ordered: the first rule whose group the user has gives the role. */
  @Column({ name: 'role_rules', type: 'jsonb' })
  roleRules!: RoleRule[];

  @Column({ name: 'session_max_seconds', type: 'integer' })
  sessionMaxSeconds!: number;

  /** The protocol's settings (SamlSettings or OidcSettings, validated by the contracts on the way in). */
  @Column({ type: 'jsonb' })
  settings!: SamlSettings | OidcSettings;

  /** OIDC client secret, AES-256-GCM sealed (common/crypto); never returned. */
  @Column({ name: 'client_secret_sealed', type: 'text', nullable: true })
  clientSecretSealed!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
