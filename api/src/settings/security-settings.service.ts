import { Injectable } from '@nestjs/common';
import { requestContext } from '../common/context/request-context.js';
import { SecuritySettingsRepository } from './security-settings.repository.js';

export interface SecurityPolicy {
  requireTotp: boolean;
}

@Injectable()
export class SecuritySettingsService {
  constructor(private readonly repo: SecuritySettingsRepository) {}

  get(): Promise<SecurityPolicy> {
    return this.repo.get();
  }

  /** Users without TOTP must set it up at their next request once requireTotp is on (the guard reads it live). */
  async update(policy: SecurityPolicy): Promise<SecurityPolicy> {
    const before = await this.repo.get();
    await this.repo.set(policy);
    requestContext.annotate({
      resourceId: 'security',
      details: { requireTotpFrom: before.requireTotp, requireTotpTo: policy.requireTotp },
    });
    return this.repo.get();
  }
}
