import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { IdentityProvidersController } from './identity-providers.controller.js';
import { IdentityProvidersRepository } from './identity-providers.repository.js';
import { IdentityProvidersService } from './identity-providers.service.js';
import { OidcProtocol } from './oidc/oidc-protocol.js';
import { SamlProtocol } from './saml/saml-protocol.js';
import { SsoController } from './sso.controller.js';
import { SsoLoginService } from './sso-login.service.js';
import { SsoPolicyController } from './sso-policy.controller.js';
import { SsoPolicyService } from './sso-policy.service.js';
import { SsoProviders } from './sso-providers.service.js';
import { SsoStateStore } from './sso-state.store.js';

/**
 * Single sign-on: identity providers (SAML 2.0, OpenID Connect), the browser flows, the SSO
 * policy. Accounts, identities and sessions stay auth's (AccountsService, SessionIssuer).
 */
@Module({
  imports: [AuthModule, SettingsModule, KeysModule],
  controllers: [SsoController, IdentityProvidersController, SsoPolicyController],
  providers: [
    IdentityProvidersRepository,
    IdentityProvidersService,
    SsoProviders,
    SsoStateStore,
    SsoLoginService,
    SsoPolicyService,
    SamlProtocol,
    OidcProtocol,
  ],
})
export class SsoModule {}
