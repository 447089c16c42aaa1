import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module.js';
import { AccountsService } from './accounts.service.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionsModule } from './sessions.module.js';
import { StepUp } from './step-up.js';
import { TokensService } from './tokens.service.js';
import { TotpService } from './totp.service.js';
import { UnknownLoginFailures } from './unknown-login-failures.js';
import { UsersRepository } from './users.repository.js';

// Auth owns the operator accounts (users, recovery codes) and the sessions; other features use
// them through AccountsService and SessionsService. The repositories stay inside this module.
@Module({
  imports: [SettingsModule, SessionsModule],
  controllers: [AuthController],
  providers: [AuthService, AccountsService, TotpService, TokensService, PasswordHasher, UsersRepository, StepUp, UnknownLoginFailures],
  exports: [AccountsService, SessionsModule, TotpService, TokensService, StepUp],
})
export class AuthModule {}
