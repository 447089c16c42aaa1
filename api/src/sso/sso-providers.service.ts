import { Inject, Injectable } from '@nestjs/common';
import type { OidcSettings, SamlSettings } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { seal } from '../common/crypto/secrets.js';
import { keyringOf, keysFor, unsealWithAny } from '../common/crypto/keyring.js';
import type { IdentityProviderEntity } from './identity-provider.entity.js';
import { IdentityProvidersRepository } from './identity-providers.repository.js';
import type { OidcProviderConfig, SamlProviderConfig, ServiceProviderUrls } from './sso-assertion.js';

/**
 * Identity providers as the sign-in flow uses them: the enabled ones, with the service
 * provider's own URLs (all under API_CONSOLE_URL, so the session cookies the callbacks set
 * belong to the console's origin) and the client secret unsealed.
 */
@Injectable()
export class SsoProviders {
  private readonly sealKey: Buffer;
  /** The current key, then API_SECRET_KEY_PREVIOUS's during a rotation (api/src/audit/sealed-fields-resealer.ts seals again with the current one). */
  private readonly openKeys: Buffer[];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly providers: IdentityProvidersRepository,
  ) {
    const ring = keyringOf(config);
    this.sealKey = ring.current.ssoSecretSeal;
    this.openKeys = keysFor(ring, 'ssoSecretSeal');
  }

  private open(sealed: string): string {
    return unsealWithAny(this.openKeys, sealed).plaintext;
  }

  /** Whether SSO can work at all: the IdPs must send browsers back to a known console address. */
  get configured(): boolean {
    return this.config.API_CONSOLE_URL !== undefined;
  }

  spUrls(providerId: string): ServiceProviderUrls {
    if (!this.config.API_CONSOLE_URL) throw new AppError('SSO_NOT_CONFIGURED');
    const base = `${this.config.API_CONSOLE_URL.replace(/\/+$/, '')}/api/v1/auth/sso`;
    return {
      entityId: `${base}/saml/${providerId}/metadata`,
      acsUrl: `${base}/saml/${providerId}/acs`,
      metadataUrl: `${base}/saml/${providerId}/metadata`,
      redirectUri: `${base}/oidc/${providerId}/callback`,
    };
  }

  /** Where a browser lands after SSO: a path on the console (validated by ReturnToSchema). */
  consoleUrl(path: string): string {
    if (!this.config.API_CONSOLE_URL) throw new AppError('SSO_NOT_CONFIGURED');
    return `${this.config.API_CONSOLE_URL.replace(/\/+$/, '')}${path}`;
  }

  listEnabled(): Promise<IdentityProviderEntity[]> {
    return this.configured ? this.providers.listEnabled() : Promise.resolve([]);
  }

  /** The provider if it exists and is enabled; null otherwise (the caller says which, from `find`). */
  find(id: string): Promise<IdentityProviderEntity | null> {
    return this.providers.findById(id);
  }

  samlConfig(provider: IdentityProviderEntity): SamlProviderConfig {
    return { id: provider.id, settings: provider.settings as SamlSettings, sp: this.spUrls(provider.id) };
  }

  oidcConfig(provider: IdentityProviderEntity): OidcProviderConfig {
    return {
      id: provider.id,
      preset: provider.preset,
      settings: provider.settings as OidcSettings,
      clientSecret: provider.clientSecretSealed ? this.open(provider.clientSecretSealed) : null,
      sp: this.spUrls(provider.id),
    };
  }

  sealSecret(secret: string): string {
    return seal(this.sealKey, secret);
  }
}
