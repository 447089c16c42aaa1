import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import * as oidc from 'openid-client';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { SsoFailure, type OidcProviderConfig, type SsoAssertion } from '../sso-assertion.js';
import { assertionFromClaims } from './oidc-claims.js';
import { describe, failureFromGrantError } from './oidc-errors.js';
import { boundedFetch, isLoopbackUrl } from './oidc-http.js';

/** A provider's discovery document (and the keys fetched through it) is reused this long. */
export const OIDC_DISCOVERY_TTL_MS = 5 * 60_000;

export interface OidcFlowOptions {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** A step-up: prompt=login&max_age=0, and a fresh auth_time required in the ID token. */
  reauthenticate: boolean;
}

interface CachedConfiguration {
  /** Shared by concurrent sign-ins while discovery runs. */
  config: Promise<oidc.Configuration>;
  expiresAt: number;
}

/**
 * OpenID Connect relying party (openid-client 6): the authorization code flow with PKCE S256,
 * state and nonce; the ID token's signature checked against the provider's published keys (not
 * only trusted from TLS), its iss, aud, exp and nonce by openid-client, the rest by
 * assertionFromClaims. Plain http is allowed only for loopback issuers (local test providers).
 */
@Injectable()
export class OidcProtocol {
  /** Per provider and issuer: openid-client keeps the provider's keys inside the configuration. */
  private readonly configurations = new Map<string, CachedConfiguration>();

  constructor(@Inject(APP_CONFIG) private readonly appConfig: AppConfig) {}

  async authorizationUrl(provider: OidcProviderConfig, opts: OidcFlowOptions): Promise<string> {
    const config = await this.configuration(provider);
    const scopes = new Set(['openid', ...provider.settings.scopes]);
    const parameters: Record<string, string> = {
      redirect_uri: provider.sp.redirectUri,
      response_type: 'code',
      scope: [...scopes].join(' '),
      state: opts.state,
      nonce: opts.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(opts.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (opts.reauthenticate) {
      parameters.prompt = 'login';
      parameters.max_age = '0';
    }
    // Google shows only this Workspace domain's accounts (the ID token's hd is checked all the same).
    if (provider.preset === 'google' && provider.settings.hostedDomain) parameters.hd = provider.settings.hostedDomain;
    return oidc.buildAuthorizationUrl(config, parameters).href;
  }

  /**
   * Completes a sign-in from the provider's redirect back to us. `callbackUrl` is the request's
   * URL; only its query is used (the redirect_uri sent to the token endpoint is sp.redirectUri,
   * whatever host or proxy the request came through). Throws SsoFailure.
   */
  async callback(provider: OidcProviderConfig, callbackUrl: URL, opts: OidcFlowOptions): Promise<SsoAssertion> {
    const params = callbackUrl.searchParams;
    for (const name of ['state', 'code', 'error', 'iss']) {
      if (params.getAll(name).length > 1) throw new SsoFailure('malformed', `the callback repeats the "${name}" parameter`);
    }
    if (params.get('state') !== opts.state) throw new SsoFailure('state_mismatch', 'the callback state is not the one this sign-in sent');
    const error = params.get('error');
    if (error !== null)
      throw new SsoFailure('idp_error', `the provider answered ${error.slice(0, 100)}${describe(params.get('error_description'))}`);
    if (!params.get('code')) throw new SsoFailure('malformed', 'the callback carries neither a code nor an error');

    const config = await this.configuration(provider);
    const { issuer, authorization_response_iss_parameter_supported: issSent } = config.serverMetadata();
    const iss = params.get('iss');
    // RFC 9207: a provider that says it sends iss must, and it must be this provider's (mix-up defence).
    if (iss !== null && iss !== issuer && !issuer.includes('{tenantid}')) {
      throw new SsoFailure('wrong_issuer', `the callback's iss is not ${issuer}`);
    }
    if (iss === null && issSent) throw new SsoFailure('malformed', 'the provider announces an iss parameter, but the callback has none');

    const currentUrl = new URL(provider.sp.redirectUri);
    for (const [name, value] of params) currentUrl.searchParams.append(name, value);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: opts.codeVerifier,
        expectedState: opts.state,
        expectedNonce: opts.nonce,
        idTokenExpected: true,
      });
    } catch (caught) {
      throw failureFromGrantError(caught);
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new SsoFailure('token_invalid', 'the token endpoint returned no ID token');
    const claims = await this.withUserInfo(config, provider, idClaims, tokens.access_token);
    return assertionFromClaims(provider.settings, claims, {
      reauthenticate: opts.reauthenticate,
      now: Math.floor(Date.now() / 1000),
      skewSeconds: this.appConfig.API_SSO_CLOCK_SKEW_SECONDS,
    });
  }

  /**
   * Providers that follow OpenID Connect Core §5.4 to the letter (Okta, for one) put the e-mail,
   * name and group claims only in the UserInfo answer when they also issue an access token. When
   * the ID token lacks the e-mail or the group claim, those three are read from there (its sub must
   * be the ID token's, which openid-client checks); everything that proves something (sub, tid,
   * hd, auth_time, amr, acr) still comes only from the signed ID token.
   */
  private async withUserInfo(
    config: oidc.Configuration,
    provider: OidcProviderConfig,
    claims: Record<string, unknown>,
    accessToken: string | undefined,
  ): Promise<Record<string, unknown>> {
    const { groupsClaim } = provider.settings;
    const lacking = claims.email === undefined || (claims[groupsClaim] === undefined && claims._claim_names === undefined);
    if (!lacking || !accessToken || typeof claims.sub !== 'string' || !config.serverMetadata().userinfo_endpoint) return claims;
    let info: Record<string, unknown>;
    try {
      info = await oidc.fetchUserInfo(config, accessToken, claims.sub);
    } catch (caught) {
      const failure = failureFromGrantError(caught);
      throw new SsoFailure(failure.reason, `UserInfo: ${failure.detail}`);
    }
    const merged = { ...claims };
    if (merged.email === undefined && info.email !== undefined) {
      merged.email = info.email;
      merged.email_verified = info.email_verified;
    }
    if (merged.name === undefined && info.name !== undefined) merged.name = info.name;
    if (merged[groupsClaim] === undefined && info[groupsClaim] !== undefined) merged[groupsClaim] = info[groupsClaim];
    return merged;
  }

  private configuration(provider: OidcProviderConfig): Promise<oidc.Configuration> {
    return this.discovered(provider.settings.issuer, provider.settings.clientId, provider.clientSecret, provider.id);
  }

  /**
   * One configuration per provider, issuer, client and secret, for OIDC_DISCOVERY_TTL_MS: a changed
   * setting or secret makes a new one. A failed discovery is not kept.
   */
  private async discovered(issuer: string, clientId: string, clientSecret: string | null, providerId: string): Promise<oidc.Configuration> {
    const secretTag = clientSecret === null ? '' : createHash('sha256').update(clientSecret).digest('base64url');
    const key = `${providerId} ${issuer} ${clientId} ${secretTag}`;
    const now = Date.now();
    for (const [k, entry] of this.configurations) if (entry.expiresAt <= now) this.configurations.delete(k);
    let entry = this.configurations.get(key);
    if (!entry) {
      entry = { config: this.discoverNow(issuer, clientId, clientSecret), expiresAt: now + OIDC_DISCOVERY_TTL_MS };
      this.configurations.set(key, entry);
    }
    const current = entry;
    try {
      return await current.config;
    } catch (error) {
      if (this.configurations.get(key) === current) this.configurations.delete(key);
      throw error;
    }
  }

  private async discoverNow(issuer: string, clientId: string, clientSecret: string | null): Promise<oidc.Configuration> {
    let issuerUrl: URL;
    try {
      issuerUrl = new URL(issuer);
    } catch {
      throw new SsoFailure('idp_error', 'the configured issuer is not a URL');
    }
    const insecureAllowed = issuerUrl.protocol === 'http:' && isLoopbackUrl(issuerUrl);
    const timeoutMs = this.appConfig.API_SSO_HTTP_TIMEOUT_MS;
    const metadata: Partial<oidc.ClientMetadata> = { [oidc.clockTolerance]: this.appConfig.API_SSO_CLOCK_SKEW_SECONDS };
    if (clientSecret !== null) metadata.client_secret = clientSecret;
    try {
      return await oidc.discovery(issuerUrl, clientId, metadata, clientSecret === null ? oidc.None() : secretAuth(clientSecret), {
        [oidc.customFetch]: boundedFetch(timeoutMs),
        // Whole seconds, above the fetch's own limit: boundedFetch ends a request first.
        timeout: Math.ceil(timeoutMs / 1000) + 1,
        // The ID token's signature is checked against the provider's keys, not only trusted from TLS.
        execute: insecureAllowed ? [oidc.enableNonRepudiationChecks, oidc.allowInsecureRequests] : [oidc.enableNonRepudiationChecks],
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      const message = error instanceof Error ? error.message : 'unknown error';
      throw new SsoFailure('idp_error', `discovery at ${issuerUrl.origin} failed: ${`${message}${cause}`.slice(0, 300)}`);
    }
  }
}

/** Client secret authentication as the provider offers it: basic unless it offers only post (basic is the default when it says nothing, RFC 8414). */
function secretAuth(clientSecret: string): oidc.ClientAuth {
  const basic = oidc.ClientSecretBasic(clientSecret);
  const post = oidc.ClientSecretPost(clientSecret);
  return (as, client, body, headers) => {
    const offered = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const usePost = offered.includes('client_secret_post') && !offered.includes('client_secret_basic');
    (usePost ? post : basic)(as, client, body, headers);
  };
}
