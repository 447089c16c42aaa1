import { Injectable } from '@nestjs/common';
import { requestContext } from '../common/context/request-context.js';
import { SecuritySettingsRepository } from './security-settings.repository.js';

export interface SecurityPolicy {
  requireTotp: boolean;
  /** Single sign-on mandatory: a password works only for the break-glass accounts. */
  ssoRequired: boolean;
  ssoBreakGlassUserIds: string[];
}

@Injectable()
export class SecuritySettingsService {
  constructor(private readonly repo: SecuritySettingsRepository) {}

  get(): Promise<SecurityPolicy> {
    return this.repo.get();
  }

  /** Users without TOTP must set it up at their next request once requireTotp is on (the guard reads it live). */
  async update(policy: { requireTotp: boolean }): Promise<SecurityPolicy> {
    const before = await this.repo.get();
    await this.repo.set({ requireTotp: policy.requireTotp });
    requestContext.annotate({
      resourceId: 'security',
      details: { requireTotpFrom: before.requireTotp, requireTotpTo: policy.requireTotp },
    });
    return this.repo.get();
  }

  /** The SSO policy; the sso feature checks it first (providers, break-glass accounts) and audits it. */
  async setSsoPolicy(policy: { ssoRequired: boolean; ssoBreakGlassUserIds: string[] }): Promise<SecurityPolicy> {
    await this.repo.set(policy);
    return this.repo.get();
  }
}
