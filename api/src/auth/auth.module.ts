import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module.js';
import { AccountsService } from './accounts.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionsModule } from './sessions.module.js';
import { StepUp } from './step-up.js';
import { SessionIssuer } from './session-issuer.js';
import { BreakGlass } from './break-glass.js';
import { TokensService } from './tokens.service.js';
import { TotpService } from './totp.service.js';
import { UnknownLoginFailures } from './unknown-login-failures.js';
import { UsersRepository } from './users.repository.js';
import { UserIdentitiesRepository } from './user-identities.repository.js';
import { ServiceCredentialsController } from './service-credentials.controller.js';
import { ServiceCredentialsRepository } from './service-credentials.repository.js';
import { ServiceCredentialsService } from './service-credentials.service.js';

// Auth owns the operator accounts (users, recovery codes) and the sessions; other features use
// them through AccountsService and SessionsService. The repositories stay inside this module.
@Module({
  imports: [SettingsModule, SessionsModule],
  controllers: [AuthController, ServiceCredentialsController],
  providers: [
    AuthService,
    AccountsService,
    TotpService,
    TokensService,
    PasswordHasher,
    UsersRepository,
    UserIdentitiesRepository,
    StepUp,
    SessionIssuer,
    BreakGlass,
    UnknownLoginFailures,
    ServiceCredentialsRepository,
    ServiceCredentialsService,
  ],
  exports: [AccountsService, SessionsModule, SessionIssuer, BreakGlass, TotpService, TokensService, StepUp, ServiceCredentialsService],
})
export class AuthModule {}
