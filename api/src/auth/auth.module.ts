import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module.js';
import { UsersRepository } from '../users/users.repository.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { PasswordHasher } from './password-hasher.js';
import { SessionsRepository } from './sessions.repository.js';
import { StepUp } from './step-up.js';
import { TokensService } from './tokens.service.js';
import { TotpService } from './totp.service.js';
import { UnknownLoginFailures } from './unknown-login-failures.js';

// UsersRepository lives here: auth needs it and users needs auth (sessions, TOTP), so auth owns and exports it.
@Module({
  imports: [SettingsModule],
  controllers: [AuthController],
  providers: [AuthService, TotpService, TokensService, PasswordHasher, SessionsRepository, UsersRepository, StepUp, UnknownLoginFailures],
  exports: [TotpService, TokensService, PasswordHasher, SessionsRepository, UsersRepository, StepUp],
})
export class AuthModule {}
