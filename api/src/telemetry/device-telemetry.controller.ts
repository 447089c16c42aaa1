import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { DeviceTelemetrySchema, IdParamSchema } from '@xspectre/contracts';
import { RequirePermission } from '../auth/route-access.decorators.js';
import { ZodParams, ZodResponse } from '../common/validation/zod-decorators.js';
import { DeviceTelemetryService } from './device-telemetry.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

@ApiTags('devices')
@Controller('devices')
export class DeviceTelemetryController {
  constructor(private readonly telemetry: DeviceTelemetryService) {}

  /** The newest metrics, systemd units and containers the device reported. */
  @Get(':id/telemetry')
  @ApiSummary('Newest telemetry of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceTelemetrySchema)
  get(@ZodParams(IdParamSchema) params: z.infer<typeof IdParamSchema>) {
    return this.telemetry.latest(params.id);
  }
}
