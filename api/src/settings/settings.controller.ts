import { Controller, Get, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { SecuritySettingsSchema, UpdateSecuritySettingsSchema } from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodResponse } from '../common/validation/zod-decorators.js';
import { SecuritySettingsService } from './security-settings.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

@ApiTags('settings')
@Controller('settings/security')
export class SettingsController {
  constructor(private readonly settings: SecuritySettingsService) {}

  @Get()
  @ApiSummary('Get the security settings')
  @RequirePermission('settings.manage')
  @ZodResponse(200, SecuritySettingsSchema)
  async get() {
    return { requireTotp: (await this.settings.get()).requireTotp };
  }

  /** Critical: the fleet-wide 2FA policy. */
  @Put()
  @ApiSummary('Change the security settings')
  @RequirePermission('settings.manage')
  @Critical()
  @Audited('settings.security_update', 'settings')
  @ZodResponse(200, SecuritySettingsSchema)
  async update(@ZodBody(UpdateSecuritySettingsSchema) body: z.infer<typeof UpdateSecuritySettingsSchema>) {
    return { requireTotp: (await this.settings.update(body)).requireTotp };
  }
}
