import { Controller, Delete, Get, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  AlertRuleListSchema,
  AlertRuleSchema,
  CreateAlertRuleSchema,
  IdParamSchema,
  UpdateAlertRuleSchema,
  type CreateAlertRule,
  type UpdateAlertRule,
} from '@xspectre/contracts';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { AlertRulesService } from './alert-rules.service.js';

type Id = z.infer<typeof IdParamSchema>;

/** Alert rules: readable by everyone who sees alerts, changed by `settings.manage`, every change audited. */
@ApiTags('alerts')
@Controller('alert-rules')
export class AlertRulesController {
  constructor(private readonly rules: AlertRulesService) {}

  @Get()
  @ApiSummary('List alert rules')
  @RequirePermission('alerts.view')
  @ZodResponse(200, AlertRuleListSchema)
  list() {
    return this.rules.list();
  }

  @Post()
  @ApiSummary('Add an alert rule (or a scoped override of a key)')
  @RequirePermission('settings.manage')
  @Audited('alert_rule.create', 'alert_rule')
  @ZodResponse(201, AlertRuleSchema)
  create(@ZodBody(CreateAlertRuleSchema) body: CreateAlertRule) {
    return this.rules.create(body);
  }

  @Patch(':id')
  @ApiSummary('Change an alert rule')
  @RequirePermission('settings.manage')
  @Audited('alert_rule.update', 'alert_rule')
  @ZodResponse(200, AlertRuleSchema)
  update(@ZodParams(IdParamSchema) params: Id, @ZodBody(UpdateAlertRuleSchema) body: UpdateAlertRule) {
    return this.rules.update(params.id, body);
  }

  @Delete(':id')
  @ApiSummary('Delete an alert rule (built-in rules can only be disabled)')
  @RequirePermission('settings.manage')
  @Audited('alert_rule.delete', 'alert_rule')
  @ZodResponse(200, AlertRuleSchema)
  remove(@ZodParams(IdParamSchema) params: Id) {
    return this.rules.remove(params.id);
  }
}
