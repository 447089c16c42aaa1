import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module.js';
import { AccountsService } from './accounts.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';
import { StepUp } from './step-up.js';
import { TokensService } from './tokens.service.js';
import { TotpService } from './totp.service.js';
import { UnknownLoginFailures } from './unknown-login-failures.js';
import { UsersRepository } from './users.repository.js';

/**
 * What SessionsService needs (Database only): the worker provides these without AuthModule,
 * whose controller, settings and Redis-backed login limits belong to the API.
 */
export const SESSIONS_PROVIDERS = [SessionsRepository, SessionsService];

// Auth owns the operator accounts (users, recovery codes) and the sessions; other features use
// them through AccountsService and SessionsService. The repositories stay inside this module.
@Module({
  imports: [SettingsModule],
  controllers: [AuthController],
  providers: [
    ...SESSIONS_PROVIDERS,
    AuthService,
    AccountsService,
    TotpService,
    TokensService,
    PasswordHasher,
    UsersRepository,
    StepUp,
    UnknownLoginFailures,
  ],
  exports: [AccountsService, SessionsService, TotpService, TokensService, StepUp],
})
export class AuthModule {}
