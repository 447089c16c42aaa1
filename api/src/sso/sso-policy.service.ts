import { Injectable } from '@nestjs/common';
import type { SsoPolicy } from '@xspectre/contracts';
import { AccountsService } from '../auth/accounts.service.js';
import { requestContext } from '../common/context/request-context.js';
import { AppError } from '../common/errors/app-error.js';
import { SecuritySettingsService } from '../settings/security-settings.service.js';
import { IdentityProvidersRepository } from './identity-providers.repository.js';

/**
 * Whether SSO is mandatory, and the break-glass local accounts that keep their password. A
 * change is refused when it would lock everyone out: mandatory SSO needs an enabled identity
 * provider and a break-glass Super Admin who can still step up (TOTP).
 */
@Injectable()
export class SsoPolicyService {
  constructor(
    private readonly settings: SecuritySettingsService,
    private readonly accounts: AccountsService,
    private readonly providers: IdentityProvidersRepository,
  ) {}

  async get(): Promise<SsoPolicy> {
    const policy = await this.settings.get();
    return { ssoRequired: policy.ssoRequired, breakGlassUserIds: policy.ssoBreakGlassUserIds };
  }

  async update(next: SsoPolicy): Promise<SsoPolicy> {
    const before = await this.get();
    requestContext.annotate({
      resourceId: 'sso',
      details: {
        ssoRequiredFrom: before.ssoRequired,
        ssoRequiredTo: next.ssoRequired,
        breakGlassUserIdsFrom: before.breakGlassUserIds,
        breakGlassUserIdsTo: next.breakGlassUserIds,
      },
    });
    if (next.ssoRequired && (await this.providers.countEnabled()) === 0) {
      throw refused('single sign-on cannot be mandatory without an enabled identity provider', 'ssoRequired');
    }
    let usableSuperAdmin = false;
    for (const [index, id] of next.breakGlassUserIds.entries()) {
      const account = await this.accounts.findById(id);
      const field = `breakGlassUserIds.${index}`;
      if (!account) throw refused(`breakGlassUserIds[${index}]: no user with id ${id}`, field);
      if (account.status !== 'active') throw refused(`breakGlassUserIds[${index}]: ${account.email} is disabled`, field);
      if (!account.hasPassword)
        throw refused(`breakGlassUserIds[${index}]: ${account.email} has no password (it signs in with SSO only)`, field);
      if (account.role === 'super_admin' && account.totpEnabled) usableSuperAdmin = true;
    }
    if (next.ssoRequired && !usableSuperAdmin) {
      throw refused(
        'mandatory single sign-on needs at least one break-glass account that is an active Super Admin with TOTP enabled (the way in when the identity provider is down)',
        'breakGlassUserIds',
      );
    }
    const saved = await this.settings.setSsoPolicy({ ssoRequired: next.ssoRequired, ssoBreakGlassUserIds: next.breakGlassUserIds });
    return { ssoRequired: saved.ssoRequired, breakGlassUserIds: saved.ssoBreakGlassUserIds };
  }
}

function refused(message: string, field: string): AppError {
  return new AppError('SSO_POLICY_INVALID', message, { errors: [{ path: `body.${field}`, message }] });
}
