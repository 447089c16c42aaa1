import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type {
  CreateIdentityProvider,
  IdentityProvider,
  OidcDiscoveryResponseSchema,
  OidcSettings,
  RolePreviewResponseSchema,
  SamlMetadataImportResponseSchema,
  SamlSettings,
  SsoConnectionTestSchema,
  UpdateIdentityProvider,
} from '@xspectre/contracts';
import { requestContext } from '../common/context/request-context.js';
import { AppError } from '../common/errors/app-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { isUniqueViolation } from '../db/pg-errors.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';
import type { IdentityProviderEntity } from './identity-provider.entity.js';
import { NO_SP_URLS, toIdentityProviderDto } from './identity-provider.mapper.js';
import { IdentityProvidersRepository, type IdentityProviderChanges } from './identity-providers.repository.js';
import { IdpHttpError, idpRequest, insecureUrlReason } from './idp-http.js';
import { discoverOidc, OidcDiscoveryError } from './oidc/oidc-discovery.js';
import { checkOidcProvider, checkSamlProvider, type ConnectionCheck } from './provider-connection-test.js';
import { roleForGroups } from './role-mapping.js';
import { certificatePem, parseIdpCertificate } from './saml/idp-certificate.js';
import { IDP_METADATA_MAX_BYTES, IdpMetadataError, parseIdpMetadata } from './saml/idp-metadata.js';
import { SsoProviders } from './sso-providers.service.js';

type MetadataImport = z.infer<typeof SamlMetadataImportResponseSchema>;
type Discovery = z.infer<typeof OidcDiscoveryResponseSchema>;
type RolePreview = z.infer<typeof RolePreviewResponseSchema>;
type ConnectionTest = z.infer<typeof SsoConnectionTestSchema>;

/**
 * Administration of identity providers: who may sign in and with which role. The OIDC client
 * secret is sealed (SsoProviders.sealSecret) and never returned, logged or audited; audit rows
 * name the changed fields only.
 */
@Injectable()
export class IdentityProvidersService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly providers: IdentityProvidersRepository,
    private readonly sso: SsoProviders,
    private readonly settings: SecuritySettingsService,
  ) {}

  async list(): Promise<{ items: IdentityProvider[] }> {
    return { items: (await this.providers.list()).map((p) => this.toDto(p)) };
  }

  async get(id: string): Promise<IdentityProvider> {
    return this.toDto(this.require(await this.providers.findById(id), id));
  }

  async create(input: CreateIdentityProvider): Promise<IdentityProvider> {
    const settings = input.protocol === 'saml' ? checkedSamlSettings(input.saml) : checkedOidcSettings(input.oidc);
    const clientSecret = input.protocol === 'oidc' ? input.clientSecret : null;
    const created = await this.nameUnique(input.name, () =>
      this.providers.insert({
        protocol: input.protocol,
        name: input.name,
        preset: input.preset,
        enabled: input.enabled,
        allowedEmailDomains: dedupe(input.allowedEmailDomains),
        roleRules: input.roleRules,
        sessionMaxSeconds: input.sessionMaxSeconds,
        settings,
        clientSecretSealed: clientSecret === null ? null : this.sso.sealSecret(clientSecret),
      }),
    );
    this.annotate(created);
    return this.toDto(created);
  }

  /** The protocol never changes; `clientSecret` absent keeps the secret, null removes it. */
  async update(id: string, input: UpdateIdentityProvider): Promise<IdentityProvider> {
    const current = this.require(await this.providers.findByIdLocked(id), id);
    const changed = Object.keys(input);
    this.annotate(current, { changed });
    if ((current.protocol === 'saml' && input.oidc) || (current.protocol === 'oidc' && input.saml)) {
      throw invalid(
        `this is a ${current.protocol.toUpperCase()} provider: its protocol cannot change (add a new provider instead)`,
        current.protocol === 'saml' ? 'oidc' : 'saml',
      );
    }
    if (current.protocol === 'saml' && input.clientSecret !== undefined)
      throw invalid('a SAML provider has no client secret', 'clientSecret');
    const changes: IdentityProviderChanges = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.preset !== undefined) changes.preset = input.preset;
    if (input.enabled !== undefined) changes.enabled = input.enabled;
    if (input.allowedEmailDomains !== undefined) changes.allowedEmailDomains = dedupe(input.allowedEmailDomains);
    if (input.roleRules !== undefined) changes.roleRules = input.roleRules;
    if (input.sessionMaxSeconds !== undefined) changes.sessionMaxSeconds = input.sessionMaxSeconds;
    if (input.saml) changes.settings = checkedSamlSettings(input.saml);
    if (input.oidc) changes.settings = checkedOidcSettings(input.oidc);
    if (input.clientSecret !== undefined)
      changes.clientSecretSealed = input.clientSecret === null ? null : this.sso.sealSecret(input.clientSecret);
    if (current.enabled && input.enabled === false) await this.refuseRemovingLastEnabled(current, 'turned off');
    await this.nameUnique(changes.name ?? current.name, () => this.providers.update(id, changes));
    return this.get(id);
  }

  /** Its linked identities and its SSO sessions go with it (database cascade). */
  async remove(id: string): Promise<IdentityProvider> {
    const current = this.require(await this.providers.findByIdLocked(id), id);
    this.annotate(current);
    if (current.enabled) await this.refuseRemovingLastEnabled(current, 'deleted');
    const dto = this.toDto(current);
    await this.providers.delete(id);
    return dto;
  }

  async importSamlMetadata(input: { metadataUrl?: string; metadataXml?: string }): Promise<MetadataImport> {
    requestContext.annotate({ details: { source: input.metadataUrl ?? 'xml' } });
    if (input.metadataUrl) requireSecureUrl(input.metadataUrl, 'metadataUrl');
    const xml = input.metadataXml ?? (await this.fetchMetadata(input.metadataUrl!));
    try {
      const metadata = parseIdpMetadata(xml);
      requestContext.annotate({ details: { source: input.metadataUrl ?? 'xml', idpEntityId: metadata.idpEntityId } });
      return { ...metadata, metadataUrl: input.metadataUrl ?? null };
    } catch (error) {
      if (error instanceof IdpMetadataError) throw invalid(error.message, input.metadataUrl ? 'metadataUrl' : 'metadataXml');
      throw error;
    }
  }

  async discoverOidc(issuer: string): Promise<Discovery> {
    requestContext.annotate({ details: { issuer } });
    requireSecureUrl(issuer, 'issuer');
    try {
      const found = await discoverOidc(issuer, { timeoutMs: this.config.API_SSO_HTTP_TIMEOUT_MS });
      return {
        issuer: found.issuer,
        authorizationEndpoint: found.authorizationEndpoint,
        tokenEndpoint: found.tokenEndpoint,
        jwksUri: found.jwksUri,
        codeChallengeMethods: found.codeChallengeMethods ?? [],
      };
    } catch (error) {
      if (!(error instanceof OidcDiscoveryError)) throw error;
      if (error.kind === 'unreachable') throw new AppError('SSO_PROVIDER_UNREACHABLE', error.message);
      throw invalid(error.message, 'issuer');
    }
  }

  /** Checks against the live identity provider; the answer lists each check (nothing is changed). */
  async test(id: string): Promise<ConnectionTest> {
    const provider = this.require(await this.providers.findById(id), id);
    this.annotate(provider);
    const timeoutMs = this.config.API_SSO_HTTP_TIMEOUT_MS;
    const checks: ConnectionCheck[] = [
      this.sso.configured
        ? {
            name: 'service provider URLs',
            ok: true,
            detail: provider.protocol === 'saml' ? this.sso.spUrls(id).entityId : this.sso.spUrls(id).redirectUri,
          }
        : { name: 'service provider URLs', ok: false, detail: 'API_CONSOLE_URL is unset: single sign-on cannot work' },
    ];
    if (provider.protocol === 'saml') {
      checks.push(...(await checkSamlProvider(provider.settings as SamlSettings, timeoutMs)));
      return this.testResult(checks);
    }
    let clientSecret: string | null = null;
    let redirectUri: string | null = null;
    if (this.sso.configured) {
      try {
        ({
          clientSecret,
          sp: { redirectUri },
        } = this.sso.oidcConfig(provider));
      } catch {
        checks.push({
          name: 'client secret',
          ok: false,
          detail: 'the stored client secret cannot be unsealed (API_SECRET_KEY changed?): set it again',
        });
        return this.testResult(checks);
      }
    }
    checks.push(...(await checkOidcProvider({ settings: provider.settings as OidcSettings, clientSecret, redirectUri }, timeoutMs)));
    return this.testResult(checks);
  }

  async rolePreview(id: string, groups: string[]): Promise<RolePreview> {
    const provider = this.require(await this.providers.findById(id), id);
    const match = roleForGroups(provider.roleRules, groups);
    this.annotate(provider, { groups: groups.length, role: match?.role ?? null });
    return { role: match?.role ?? null, matchedRule: match?.matchedRule ?? null };
  }

  private testResult(checks: ConnectionCheck[]): ConnectionTest {
    const ok = checks.every((c) => c.ok);
    requestContext.annotate({ details: { ok, failed: checks.filter((c) => !c.ok).map((c) => c.name) } });
    return { ok, checks };
  }

  private async fetchMetadata(url: string): Promise<string> {
    try {
      const answer = await idpRequest({
        url,
        timeoutMs: this.config.API_SSO_HTTP_TIMEOUT_MS,
        maxBytes: IDP_METADATA_MAX_BYTES,
        accept: 'application/samlmetadata+xml, application/xml, text/xml',
      });
      if (answer.status !== 200) throw new AppError('SSO_PROVIDER_UNREACHABLE', `${url} answered HTTP ${answer.status}`);
      return answer.body;
    } catch (error) {
      if (!(error instanceof IdpHttpError)) throw error;
      if (error.tooLarge) throw invalid(`the metadata is larger than ${IDP_METADATA_MAX_BYTES / 1024} KiB`, 'metadataUrl');
      throw new AppError('SSO_PROVIDER_UNREACHABLE', `${url}: ${error.message}`);
    }
  }

  /** SSO mandatory with no enabled provider would leave only the break-glass accounts. */
  private async refuseRemovingLastEnabled(provider: IdentityProviderEntity, what: 'deleted' | 'turned off'): Promise<void> {
    if (!(await this.settings.get()).ssoRequired) return;
    if ((await this.providers.countEnabled()) > 1) return;
    throw new AppError(
      'SSO_POLICY_INVALID',
      `${provider.name} is the last enabled identity provider and single sign-on is mandatory: it cannot be ${what} (make SSO optional first)`,
    );
  }

  private async nameUnique<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error, 'uq_identity_providers_name'))
        throw new AppError('SSO_PROVIDER_NAME_TAKEN', `an identity provider named "${name}" exists`);
      throw error;
    }
  }

  private require(provider: IdentityProviderEntity | null, id: string): IdentityProviderEntity {
    if (!provider) throw new AppError('SSO_PROVIDER_NOT_FOUND', `no identity provider with id ${id}`);
    return provider;
  }

  private toDto(provider: IdentityProviderEntity): IdentityProvider {
    return toIdentityProviderDto(provider, this.sso.configured ? this.sso.spUrls(provider.id) : NO_SP_URLS);
  }

  /** The audit row names the provider; the secret never appears (only whether one is set). */
  private annotate(provider: IdentityProviderEntity, extra: Record<string, unknown> = {}): void {
    requestContext.annotate({
      resourceId: provider.id,
      details: { name: provider.name, protocol: provider.protocol, enabled: provider.enabled, ...extra },
    });
  }
}

/** Every IdP certificate must parse as X.509 (stored as PEM whatever was pasted); the URLs https. */
function checkedSamlSettings(settings: SamlSettings): SamlSettings {
  requireSecureUrl(settings.ssoUrl, 'saml.ssoUrl');
  if (settings.metadataUrl) requireSecureUrl(settings.metadataUrl, 'saml.metadataUrl');
  const idpCertificates = settings.idpCertificates.map((text, index) => {
    const certificate = parseIdpCertificate(text);
    if (!certificate)
      throw invalid(`saml.idpCertificates[${index}] is not an X.509 certificate (PEM or base64 DER)`, `saml.idpCertificates.${index}`);
    return certificatePem(certificate);
  });
  return { ...settings, idpCertificates };
}

function checkedOidcSettings(settings: OidcSettings): OidcSettings {
  requireSecureUrl(settings.issuer, 'oidc.issuer');
  return settings;
}

/** https, or plain http on loopback only (idp-http.ts): what an IdP answers decides whom we trust. */
function requireSecureUrl(url: string, field: string): void {
  const refusal = insecureUrlReason(url);
  if (refusal) throw invalid(`${field}: ${refusal}`, field);
}

function invalid(message: string, field: string): AppError {
  return new AppError('SSO_PROVIDER_INVALID', message, { errors: [{ path: `body.${field}`, message }] });
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}
