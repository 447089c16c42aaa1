import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { DeviceEventPageSchema, IdParamSchema, ListDeviceEventsQuerySchema } from '@xspectre/contracts';
import { RequirePermission } from '../auth/route-access.decorators.js';
import { ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { DeviceEventsService } from './device-events.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

@ApiTags('devices')
@Controller('devices')
export class DeviceEventsController {
  constructor(private readonly events: DeviceEventsService) {}

  /** Fingerprint changes, hardware changes and journal gaps, newest first. */
  @Get(':id/events')
  @ApiSummary('Events of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceEventPageSchema)
  list(
    @ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>,
    @ZodQuery(ListDeviceEventsQuerySchema) query: z.infer<typeof ListDeviceEventsQuerySchema>,
  ) {
    return this.events.list(params.id, query);
  }
}
