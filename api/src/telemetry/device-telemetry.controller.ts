import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  ConnectivityEventPageSchema,
  DeviceTelemetrySchema,
  IdParamSchema,
  MetricSeriesSchema,
  MetricsQuerySchema,
  PageQuerySchema,
  type MetricsQuery,
} from '@xspectre/contracts';
import { RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { DeviceTelemetryService } from './device-telemetry.service.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('devices')
@Controller('devices')
export class DeviceTelemetryController {
  constructor(private readonly telemetry: DeviceTelemetryService) {}

  /** The newest metrics, systemd units and containers the device reported. */
  @Get(':id/telemetry')
  @ApiSummary('Newest telemetry of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceTelemetrySchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.telemetry.latest(params.id);
  }

  /** Chart data: raw samples for steps under a minute, 1-minute rollups up to an hour, 1-hour rollups above. */
  @Get(':id/metrics')
  @ApiSummary('Metric series of a device (charts)')
  @RequirePermission('devices.view')
  @ZodResponse(200, MetricSeriesSchema)
  metrics(@ZodParams(IdParamSchema) params: Id, @ZodQuery(MetricsQuerySchema) query: MetricsQuery) {
    return this.telemetry.metrics(params.id, query);
  }

  @Get(':id/connectivity')
  @ApiSummary('Online/offline history of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, ConnectivityEventPageSchema)
  connectivity(@ZodParams(IdParamSchema) params: Id, @ZodQuery(PageQuerySchema.strict()) page: z.infer<typeof PageQuerySchema>) {
    return this.telemetry.connectivityEvents(params.id, page.limit, page.offset);
  }
}
