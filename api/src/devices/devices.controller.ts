import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  ConnectivityEventPageSchema,
  MetricSeriesSchema,
  MetricsQuerySchema,
  type MetricsQuery,
  CreateDeviceResponseSchema,
  PageQuerySchema,
  CreateDeviceSchema,
  DevicePageSchema,
  DeviceSchema,
  DeviceSummaryQuerySchema,
  DeviceSummarySchema,
  IdParamSchema,
  IssuedClaimCodeSchema,
  ListDevicesQuerySchema,
} from '@xspectre/contracts';
import { Audited, RequirePermission } from '../auth/route-access.decorators.js';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { DevicesService } from './devices.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('devices')
@Controller('devices')
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @Get()
  @ApiSummary('List devices')
  @RequirePermission('devices.view')
  @ZodResponse(200, DevicePageSchema)
  list(@ZodQuery(ListDevicesQuerySchema) query: z.infer<typeof ListDevicesQuerySchema>) {
    return this.devices.list(query);
  }

  /** Creates a pending device and its first claim code (the code is shown only in this answer). */
  @Post()
  @ApiSummary('Create a device and its first claim code')
  @RequirePermission('devices.manage')
  @Audited('device.create', 'device')
  @ZodResponse(201, CreateDeviceResponseSchema)
  create(@ZodBody(CreateDeviceSchema) body: z.infer<typeof CreateDeviceSchema>, @CurrentActor() actor: Actor) {
    return this.devices.create(actor, body);
  }

  /** Counts, billable devices per organization and the worst online devices, for the overview. */
  @Get('summary')
  @ApiSummary('Fleet summary for the overview')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceSummarySchema)
  summary(@ZodQuery(DeviceSummaryQuerySchema) query: z.infer<typeof DeviceSummaryQuerySchema>) {
    return this.devices.summary(query);
  }

  @Get(':id')
  @ApiSummary('Get a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceSchema)
  get(@ZodParams(IdParamSchema) params: Id) {
    return this.devices.get(params.id);
  }

  /** Chart data: raw samples for steps under a minute, 1-minute rollups up to an hour, 1-hour rollups above. */
  @Get(':id/metrics')
  @ApiSummary('Metric series of a device (charts)')
  @RequirePermission('devices.view')
  @ZodResponse(200, MetricSeriesSchema)
  metrics(@ZodParams(IdParamSchema) params: Id, @ZodQuery(MetricsQuerySchema) query: MetricsQuery) {
    return this.devices.metrics(params.id, query);
  }

  @Get(':id/connectivity')
  @ApiSummary('Online/offline history of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, ConnectivityEventPageSchema)
  connectivity(@ZodParams(IdParamSchema) params: Id, @ZodQuery(PageQuerySchema.strict()) page: z.infer<typeof PageQuerySchema>) {
    return this.devices.connectivityEvents(params.id, page.limit, page.offset);
  }

  @Post(':id/claim-codes')
  @ApiSummary('Issue a new claim code for a pending device')
  @RequirePermission('devices.manage')
  @Audited('device.claim_code_issue', 'device')
  @ZodResponse(201, IssuedClaimCodeSchema)
  issueClaimCode(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.devices.issueClaimCode(actor, params.id);
  }

  /** Removes the hub peer at once and voids the credential; the address is quarantined. */
  @Post(':id/revoke')
  @ApiSummary('Revoke a device')
  @RequirePermission('devices.manage')
  @Audited('device.revoke', 'device')
  @ZodResponse(201, DeviceSchema)
  revoke(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.devices.endService(actor, params.id, 'revoked');
  }

  @Post(':id/retire')
  @ApiSummary('Retire a device')
  @RequirePermission('devices.manage')
  @Audited('device.retire', 'device')
  @ZodResponse(201, DeviceSchema)
  retire(@ZodParams(IdParamSchema) params: Id, @CurrentActor() actor: Actor) {
    return this.devices.endService(actor, params.id, 'retired');
  }
}
