import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreateIdentityProviderSchema,
  IdentityProviderListSchema,
  IdentityProviderSchema,
  IdParamSchema,
  OidcDiscoveryRequestSchema,
  OidcDiscoveryResponseSchema,
  RolePreviewRequestSchema,
  RolePreviewResponseSchema,
  SamlMetadataImportRequestSchema,
  SamlMetadataImportResponseSchema,
  SsoConnectionTestSchema,
  UpdateIdentityProviderSchema,
  type CreateIdentityProvider,
  type UpdateIdentityProvider,
} from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { IdentityProvidersService } from './identity-providers.service.js';

type Id = z.infer<typeof IdParamSchema>;

/**
 * Identity providers (SAML 2.0, OpenID Connect): they decide who signs in and with which role,
 * so changing one is critical (step-up). Client secrets go in, never out.
 */
@ApiTags('identity-providers')
@Controller('identity-providers')
export class IdentityProvidersController {
  constructor(private readonly providers: IdentityProvidersService) {}

  @Get()
  @ApiSummary('List identity providers (without secrets)')
  @RequirePermission('identity_providers.manage')
  @ZodResponse(200, IdentityProviderListSchema)
  list() {
    return this.providers.list();
  }

  @Get(':id')
  @ApiSummary('Get an identity provider', { errors: ['SSO_PROVIDER_NOT_FOUND'] })
  @RequirePermission('identity_providers.manage')
  @ZodResponse(200, IdentityProviderSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.providers.get(params.id);
  }

  @Post()
  @ApiSummary('Add a SAML 2.0 or OpenID Connect identity provider', { errors: ['SSO_PROVIDER_INVALID', 'SSO_PROVIDER_NAME_TAKEN'] })
  @RequirePermission('identity_providers.manage')
  @Critical()
  @Audited('sso.provider_create', 'identity_provider')
  @ZodResponse(201, IdentityProviderSchema)
  create(@ZodBody(CreateIdentityProviderSchema) body: CreateIdentityProvider) {
    return this.providers.create(body);
  }

  /** Reads SAML IdP metadata (the XML, or fetched from its URL) into the settings it gives; nothing is stored. */
  @Post('saml-metadata')
  @HttpCode(200)
  @ApiSummary('Read SAML identity provider metadata', { errors: ['SSO_PROVIDER_INVALID', 'SSO_PROVIDER_UNREACHABLE'] })
  @RequirePermission('identity_providers.manage')
  @Audited('sso.metadata_import', 'identity_provider')
  @ZodResponse(200, SamlMetadataImportResponseSchema)
  importSamlMetadata(@ZodBody(SamlMetadataImportRequestSchema) body: z.infer<typeof SamlMetadataImportRequestSchema>) {
    return this.providers.importSamlMetadata(body);
  }

  /** Fetches an issuer's OpenID Connect discovery document; nothing is stored. */
  @Post('oidc-discovery')
  @HttpCode(200)
  @ApiSummary('Discover an OpenID Connect issuer', { errors: ['SSO_PROVIDER_INVALID', 'SSO_PROVIDER_UNREACHABLE'] })
  @RequirePermission('identity_providers.manage')
  @Audited('sso.oidc_discovery', 'identity_provider')
  @ZodResponse(200, OidcDiscoveryResponseSchema)
  discoverOidc(@ZodBody(OidcDiscoveryRequestSchema) body: z.infer<typeof OidcDiscoveryRequestSchema>) {
    return this.providers.discoverOidc(body.issuer);
  }

  /** `clientSecret` absent keeps the secret, null removes it; the protocol cannot change. */
  @Patch(':id')
  @ApiSummary('Change an identity provider', {
    errors: ['SSO_PROVIDER_NOT_FOUND', 'SSO_PROVIDER_INVALID', 'SSO_PROVIDER_NAME_TAKEN', 'SSO_POLICY_INVALID'],
  })
  @RequirePermission('identity_providers.manage')
  @Critical()
  @Audited('sso.provider_update', 'identity_provider')
  @ZodResponse(200, IdentityProviderSchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(UpdateIdentityProviderSchema) body: UpdateIdentityProvider) {
    return this.providers.update(params.id, body);
  }

  /** Its linked identities and SSO sessions end with it; refused for the last enabled provider while SSO is mandatory. */
  @Delete(':id')
  @ApiSummary('Delete an identity provider', { errors: ['SSO_PROVIDER_NOT_FOUND', 'SSO_POLICY_INVALID'] })
  @RequirePermission('identity_providers.manage')
  @Critical()
  @Audited('sso.provider_delete', 'identity_provider')
  @ZodResponse(200, IdentityProviderSchema)
  remove(@ZodParams(IdParamSchema) params: Id) {
    return this.providers.remove(params.id);
  }

  /** Metadata / discovery, keys, certificates' expiry, endpoints and client credentials, against the live provider. */
  @Post(':id/test')
  @HttpCode(200)
  @ApiSummary('Test the connection to an identity provider', { errors: ['SSO_PROVIDER_NOT_FOUND'] })
  @RequirePermission('identity_providers.manage')
  @Audited('sso.provider_test', 'identity_provider')
  @ZodResponse(200, SsoConnectionTestSchema)
  test(@ZodParams(IdParamSchema) params: Id) {
    return this.providers.test(params.id);
  }

  /** Which role a user with these groups would get (the first matching rule; null = no access). */
  @Post(':id/role-preview')
  @HttpCode(200)
  @ApiSummary('Preview the role a set of groups gives', { errors: ['SSO_PROVIDER_NOT_FOUND'] })
  @RequirePermission('identity_providers.manage')
  @Audited('sso.role_preview', 'identity_provider')
  @ZodResponse(200, RolePreviewResponseSchema)
  rolePreview(@ZodParams(IdParamSchema) params: Id, @ZodBody(RolePreviewRequestSchema) body: z.infer<typeof RolePreviewRequestSchema>) {
    return this.providers.rolePreview(params.id, body.groups);
  }
}
