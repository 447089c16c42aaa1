import { Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { SsoPolicySchema, UpdateSsoPolicySchema } from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { SsoPolicyService } from './sso-policy.service.js';

/** Whether single sign-on is mandatory, and which local accounts stay usable (break-glass). */
@ApiTags('identity-providers')
@Controller('sso/policy')
export class SsoPolicyController {
  constructor(private readonly policy: SsoPolicyService) {}

  @Get()
  @ApiSummary('Get the SSO policy')
  @RequirePermission('identity_providers.manage')
  @ZodResponse(200, SsoPolicySchema)
  get() {
    return this.policy.get();
  }

  /** Critical: it decides who may still sign in with a password. */
  @Put()
  @ApiSummary('Change the SSO policy (mandatory SSO, break-glass accounts)', { errors: ['SSO_POLICY_INVALID'] })
  @RequirePermission('identity_providers.manage')
  @Critical()
  @Audited('sso.policy_update', 'settings')
  @ZodResponse(200, SsoPolicySchema)
  update(@ZodBody(UpdateSsoPolicySchema) body: z.infer<typeof UpdateSsoPolicySchema>) {
    return this.policy.update(body);
  }
}
