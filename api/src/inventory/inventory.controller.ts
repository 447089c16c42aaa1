import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  AcceptFingerprintSchema,
  AcceptSshHostKeySchema,
  DeviceEventSchema,
  DeviceInventorySchema,
  DeviceSshHostKeySchema,
  IdParamSchema,
  InventoryHistoryQuerySchema,
} from '@xspectre/contracts';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { toDeviceEventDto } from '../device-events/device-events.service.js';
import { InventoryService } from './inventory.service.js';
import { SshHostKeysService } from './ssh-host-keys.service.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';

type Id = z.infer<typeof IdParamSchema>;

@ApiTags('devices')
@Controller('devices')
export class InventoryController {
  constructor(
    private readonly inventory: InventoryService,
    private readonly hostKeys: SshHostKeysService,
  ) {}

  /** The current inventory and the hardware change history (newest first). */
  @Get(':id/inventory')
  @ApiSummary('Inventory and hardware history of a device')
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceInventorySchema)
  get(@ZodParams(IdParamSchema) params: Id, @ZodQuery(InventoryHistoryQuerySchema) page: z.infer<typeof InventoryHistoryQuerySchema>) {
    return this.inventory.get(params.id, page);
  }

  /** Critical: trusts the device's new hardware, binds its fingerprint and ends the quarantine. */
  @Post(':id/fingerprint/accept')
  @ApiSummary("Accept a device's new hardware fingerprint")
  @HttpCode(200)
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('device.fingerprint_accept', 'device')
  @ZodResponse(200, DeviceEventSchema)
  async accept(@ZodParams(IdParamSchema) params: Id, @ZodBody(AcceptFingerprintSchema) body: z.infer<typeof AcceptFingerprintSchema>) {
    return toDeviceEventDto(await this.inventory.acceptFingerprint(params.id, body.reason));
  }

  /** The pinned SSH host key and a different one the device presented, if any. */
  @Get(':id/ssh-host-key')
  @ApiSummary("A device's pinned SSH host key and a pending different one")
  @RequirePermission('devices.view')
  @ZodResponse(200, DeviceSshHostKeySchema)
  hostKey(@ZodParams(IdParamSchema) params: Id) {
    return this.hostKeys.get(params.id);
  }

  /** Critical: trusts the device's new SSH host key; terminal and file sessions work again. */
  @Post(':id/ssh-host-key/accept')
  @ApiSummary("Accept a device's new SSH host key")
  @HttpCode(200)
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('device.ssh_host_key_accept', 'device')
  @ZodResponse(200, DeviceEventSchema)
  async acceptHostKey(@ZodParams(IdParamSchema) params: Id, @ZodBody(AcceptSshHostKeySchema) body: z.infer<typeof AcceptSshHostKeySchema>) {
    return toDeviceEventDto(await this.hostKeys.accept(params.id, body.reason));
  }
}
