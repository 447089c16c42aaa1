import type { OidcSettings, SamlSettings, SsoFailureReason } from '@xspectre/contracts';

/** What an identity provider asserted about the user, once the protocol code has verified it. */
export interface SsoAssertion {
  /** The stable identifier: SAML NameID, OIDC `sub`. Users are matched by it, never by e-mail. */
  subject: string;
  email: string | null;
  displayName: string | null;
  /** The group (or role) claim values, as sent. */
  groups: string[];
  /** When the IdP authenticated the user (SAML AuthnInstant, OIDC auth_time); null = not said. */
  authenticatedAt: Date | null;
  /**
   * Multi-factor evidence: true / false when the IdP said how the user authenticated
   * (SAML AuthnContextClassRef, OIDC amr / acr) judged by the provider's configured values;
   * null when it said nothing.
   */
  mfa: boolean | null;
}

/** A refused SSO response: the reason is audited and shown on the sign-in page; the detail is audited only. */
export class SsoFailure extends Error {
  constructor(
    readonly reason: SsoFailureReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'SsoFailure';
  }
}

/** The service provider's own addresses for one identity provider (from API_CONSOLE_URL). */
export interface ServiceProviderUrls {
  entityId: string;
  acsUrl: string;
  metadataUrl: string;
  redirectUri: string;
}

export interface SamlProviderConfig {
  id: string;
  settings: SamlSettings;
  sp: ServiceProviderUrls;
}

export interface OidcProviderConfig {
  id: string;
  preset: 'entra' | 'google' | 'generic';
  settings: OidcSettings;
  /** Unsealed client secret; null = public client (PKCE only). */
  clientSecret: string | null;
  sp: ServiceProviderUrls;
}
