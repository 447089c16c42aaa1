import type { IdentityProvider, OidcSettings, SamlSettings } from '@xspectre/contracts';
import type { IdentityProviderEntity } from './identity-provider.entity.js';
import type { ServiceProviderUrls } from './sso-assertion.js';

/** Without API_CONSOLE_URL there are no SP URLs yet: the list still shows the providers. */
export const NO_SP_URLS: ServiceProviderUrls = { entityId: '', acsUrl: '', metadataUrl: '', redirectUri: '' };

/** A provider on the wire: its settings, never its client secret (only whether one is set). */
export function toIdentityProviderDto(p: IdentityProviderEntity, serviceProvider: ServiceProviderUrls): IdentityProvider {
  return {
    id: p.id,
    protocol: p.protocol,
    name: p.name,
    preset: p.preset,
    enabled: p.enabled,
    allowedEmailDomains: p.allowedEmailDomains,
    roleRules: p.roleRules,
    sessionMaxSeconds: p.sessionMaxSeconds,
    saml: p.protocol === 'saml' ? (p.settings as SamlSettings) : null,
    oidc: p.protocol === 'oidc' ? (p.settings as OidcSettings) : null,
    hasClientSecret: p.clientSecretSealed !== null,
    serviceProvider,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
