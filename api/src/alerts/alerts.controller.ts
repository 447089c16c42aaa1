import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  AcknowledgeAlertSchema,
  AlertCountsSchema,
  AlertPageSchema,
  AlertSchema,
  IdParamSchema,
  ListAlertsQuerySchema,
  ResolveAlertSchema,
  type ListAlertsQuery,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { AlertsService } from './alerts.service.js';

type Id = z.infer<typeof IdParamSchema>;

/** Alerts: everyone who signs in sees them; acknowledging and resolving is `alerts.ack`. */
@ApiTags('alerts')
@Controller('alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Get()
  @ApiSummary('List alerts (newest first)')
  @RequirePermission('alerts.view')
  @ZodResponse(200, AlertPageSchema)
  list(@ZodQuery(ListAlertsQuerySchema) query: ListAlertsQuery) {
    return this.alerts.list(query);
  }

  @Get('counts')
  @ApiSummary('Unresolved alerts by severity')
  @RequirePermission('alerts.view')
  @ZodResponse(200, AlertCountsSchema)
  counts() {
    return this.alerts.counts();
  }

  @Get(':id')
  @ApiSummary('Get an alert')
  @RequirePermission('alerts.view')
  @ZodResponse(200, AlertSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.alerts.get(params.id);
  }

  @Post(':id/ack')
  @ApiSummary('Acknowledge an alert (internal infrastructure: Super Admins only)')
  @RequirePermission('alerts.ack')
  @Audited('alert.acknowledge', 'alert')
  @HttpCode(200)
  @ZodResponse(200, AlertSchema)
  acknowledge(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(AcknowledgeAlertSchema) body: z.infer<typeof AcknowledgeAlertSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.alerts.acknowledge(actor, params.id, body.note ?? null);
  }

  @Post(':id/resolve')
  @ApiSummary('Resolve an alert by hand, with a note')
  @RequirePermission('alerts.ack')
  @Audited('alert.resolve', 'alert')
  @HttpCode(200)
  @ZodResponse(200, AlertSchema)
  resolve(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(ResolveAlertSchema) body: z.infer<typeof ResolveAlertSchema>,
    @CurrentActor() actor: Actor,
  ) {
    return this.alerts.resolve(actor, params.id, body.note);
  }
}
