import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';
import { UsersRepository } from './users.repository.js';

/**
 * While single sign-on is mandatory, a break-glass Super Admin with TOTP and a password is the
 * way in when the identity provider fails. The SSO policy refuses to start without one
 * (api/src/sso/sso-policy.service.ts); this keeps the last one from being demoted, disabled or
 * losing its second factor afterwards.
 */
@Injectable()
export class BreakGlass {
  constructor(
    private readonly users: UsersRepository,
    private readonly settings: SecuritySettingsService,
  ) {}

  /** Throws SSO_POLICY_INVALID when `leavingId` is about to stop qualifying and no other break-glass account does. */
  async assertAnotherRemains(leavingId: string): Promise<void> {
    const policy = await this.settings.get();
    if (!policy.ssoRequired || !policy.ssoBreakGlassUserIds.includes(leavingId)) return;
    for (const id of policy.ssoBreakGlassUserIds) {
      if (id === leavingId) continue;
      const other = await this.users.findById(id);
      if (other && other.status === 'active' && other.role === 'super_admin' && other.totpEnabled && other.passwordHash) return;
    }
    throw new AppError(
      'SSO_POLICY_INVALID',
      'single sign-on is mandatory and this is the last break-glass Super Admin with TOTP: name another one in the SSO policy first',
    );
  }
}
