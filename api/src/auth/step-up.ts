import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';

/**
 * The one step-up freshness check: the access guard applies it to @Critical routes, services
 * to requests whose body makes them critical (granting or removing Super Admin).
 */
@Injectable()
export class StepUp {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * Throws AUTH_STEP_UP_REQUIRED unless the session stepped up within API_STEP_UP_TTL_SECONDS: a
   * TOTP code, or for an SSO session a fresh re-authentication at its identity provider.
   */
  require(actor: { stepUpAt: Date | null; authMethod?: 'password' | 'sso' }): void {
    const ttlMs = this.config.API_STEP_UP_TTL_SECONDS * 1000;
    if (actor.stepUpAt && Date.now() - actor.stepUpAt.getTime() <= ttlMs) return;
    if (actor.authMethod === 'sso') {
      throw new AppError(
        'AUTH_STEP_UP_REQUIRED',
        `critical action: sign in again at your identity provider (POST auth/sso/step-up) within ${this.config.API_STEP_UP_TTL_SECONDS} s before retrying`,
      );
    }
    throw new AppError(
      'AUTH_STEP_UP_REQUIRED',
      `critical action: verify a TOTP code (POST auth/step-up) within ${this.config.API_STEP_UP_TTL_SECONDS} s before retrying`,
    );
  }
}
