import { Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { SecuritySettingsSchema, UpdateSecuritySettingsSchema } from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../auth/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { requestContext } from '../common/context/request-context.js';
import { SecuritySettingsRepository } from './security-settings.repository.js';

@ApiTags('settings')
@Controller('settings/security')
export class SettingsController {
  constructor(private readonly settings: SecuritySettingsRepository) {}

  @Get()
  @RequirePermission('settings.manage')
  @ZodResponse(200, SecuritySettingsSchema)
  get() {
    return this.settings.get();
  }

  /** Critical: the fleet-wide 2FA policy. Users without TOTP must set it up at their next request. */
  @Put()
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('settings.security_update', 'settings')
  @ZodResponse(200, SecuritySettingsSchema)
  async update(@ZodBody(UpdateSecuritySettingsSchema) body: z.infer<typeof UpdateSecuritySettingsSchema>) {
    const before = await this.settings.get();
    await this.settings.set(body);
    requestContext.annotate({ resourceId: 'security', details: { requireTotpFrom: before.requireTotp, requireTotpTo: body.requireTotp } });
    return this.settings.get();
  }
}
