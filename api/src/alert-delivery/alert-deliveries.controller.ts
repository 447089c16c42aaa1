import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  AlertDeliveryIdParamSchema,
  AlertDeliveryPageSchema,
  AlertDeliverySchema,
  ListAlertDeliveriesQuerySchema,
} from '@xspectre/contracts';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { AlertDeliveries } from './alert-deliveries.service.js';

/** Delivery rows: the queue's state per message; `state=dead` is the dead-letter list. */
@ApiTags('alert-deliveries')
@Controller('alert-deliveries')
export class AlertDeliveriesController {
  constructor(private readonly deliveries: AlertDeliveries) {}

  @Get()
  @ApiSummary('List alert deliveries (state=dead: the dead-letter list)')
  @RequirePermission('settings.manage')
  @ZodResponse(200, AlertDeliveryPageSchema)
  list(@ZodQuery(ListAlertDeliveriesQuerySchema) query: z.infer<typeof ListAlertDeliveriesQuerySchema>) {
    return this.deliveries.list(query);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiSummary('Retry a dead delivery', { errors: ['ALERT_DELIVERY_NOT_FOUND', 'ALERT_DELIVERY_NOT_DEAD'] })
  @RequirePermission('settings.manage')
  @Audited('alert_delivery.retry', 'alert_delivery')
  @ZodResponse(200, AlertDeliverySchema)
  retry(@ZodParams(AlertDeliveryIdParamSchema) params: z.infer<typeof AlertDeliveryIdParamSchema>) {
    return this.deliveries.retry(params.id);
  }
}
