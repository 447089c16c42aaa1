import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  AlertTargetListSchema,
  AlertTargetSchema,
  AlertTargetTestResultSchema,
  CreateAlertTargetSchema,
  IdParamSchema,
  UpdateAlertTargetSchema,
  type CreateAlertTarget,
  type UpdateAlertTarget,
} from '@xspectre/contracts';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { AlertTargetsService } from './alert-targets.service.js';

type Id = z.infer<typeof IdParamSchema>;

/**
 * Where alerts are delivered (BetterStack, signed webhooks): settings, so `settings.manage`.
 * Tokens and HMAC secrets go in, never out (only their last four characters).
 */
@ApiTags('alert-targets')
@Controller('alert-targets')
export class AlertTargetsController {
  constructor(private readonly targets: AlertTargetsService) {}

  @Get()
  @ApiSummary('List alert delivery targets (without their secrets)')
  @RequirePermission('settings.manage')
  @ZodResponse(200, AlertTargetListSchema)
  list() {
    return this.targets.list();
  }

  @Post()
  @ApiSummary('Add a BetterStack or webhook target', { errors: ['ALERT_TARGET_ADDRESS_REFUSED'] })
  @RequirePermission('settings.manage')
  @Audited('alert_target.create', 'alert_target')
  @ZodResponse(201, AlertTargetSchema)
  create(@ZodBody(CreateAlertTargetSchema) body: CreateAlertTarget) {
    return this.targets.create(body);
  }

  /** `config` replaces the whole config of the target's kind; `secret` replaces the token or HMAC secret. */
  @Patch(':id')
  @ApiSummary('Change an alert target', { errors: ['ALERT_TARGET_NOT_FOUND', 'ALERT_TARGET_ADDRESS_REFUSED'] })
  @RequirePermission('settings.manage')
  @Audited('alert_target.update', 'alert_target')
  @ZodResponse(200, AlertTargetSchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(UpdateAlertTargetSchema) body: UpdateAlertTarget) {
    return this.targets.update(params.id, body);
  }

  @Delete(':id')
  @ApiSummary('Delete an alert target and its queued deliveries', { errors: ['ALERT_TARGET_NOT_FOUND'] })
  @RequirePermission('settings.manage')
  @Audited('alert_target.delete', 'alert_target')
  @ZodResponse(200, AlertTargetSchema)
  remove(@ZodParams(IdParamSchema) params: Id) {
    return this.targets.remove(params.id);
  }

  /** A real message: a BetterStack incident named as a test (resolved at once), or a signed `test` webhook. */
  @Post(':id/test')
  @HttpCode(200)
  @ApiSummary('Send a test message to an alert target', { errors: ['ALERT_TARGET_NOT_FOUND'] })
  @RequirePermission('settings.manage')
  @Audited('alert_target.test', 'alert_target')
  @ZodResponse(200, AlertTargetTestResultSchema)
  test(@ZodParams(IdParamSchema) params: Id) {
    return this.targets.sendTest(params.id);
  }
}
