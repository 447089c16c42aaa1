import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  CreateDeviceResponseSchema,
  DeviceEventPageSchema,
  ListDeviceEventsQuerySchema,
  CreateDeviceSchema,
  DevicePageSchema,
  DeviceSchema,
  DeviceSummaryQuerySchema,
  DeviceSummarySchema,
  IdParamSchema,
  IssuedClaimCodeSchema,
  ListDevicesQuerySchema,
} from '@xspectre/contracts';
import { Audited, RequirePermission } from '../common/http/route-access.decorators.js';
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

  /** Fingerprint changes, hardware changes, journal gaps and lifecycle events, newest first. */
  @Get(':id/events')
  @ApiSummary('Events of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceEventPageSchema)
  events(@ZodParams(IdParamSchema) params: Id, @ZodQuery(ListDeviceEventsQuerySchema) query: z.infer<typeof ListDeviceEventsQuerySchema>) {
    return this.devices.events(params.id, query);
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
