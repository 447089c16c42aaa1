import { Controller, Get, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import {
  DeviceDiskImagesSchema,
  DeviceImageParamSchema,
  DiskImageFleetPageSchema,
  DiskImageFleetQuerySchema,
  DiskImageJobSchema,
  DiskImageRestoreRequestSchema,
  DiskImageTakeRequestSchema,
  IdParamSchema,
  type DiskImageFleetQuery,
  type DiskImageRestoreRequest,
  type DiskImageTakeRequest,
} from '@xspectre/contracts';
import { CurrentActor } from '../common/context/current-actor.decorator.js';
import type { Actor } from '../common/context/request-context.js';
import { Audited, Critical, RequirePermission } from '../common/http/route-access.decorators.js';
import { ZodBody, ZodParams, ZodQuery, ZodResponse } from '../common/validation/zod-decorators.js';
import { ApiSummary } from '../openapi/api-summary.decorator.js';
import { DiskImageJobsService } from './disk-image-jobs.service.js';
import { DiskImagesService } from './disk-images.service.js';

type Id = z.infer<typeof IdParamSchema>;
type DeviceImage = z.infer<typeof DeviceImageParamSchema>;

@ApiTags('disk-images')
@Controller()
export class DiskImagesController {
  constructor(
    private readonly images: DiskImagesService,
    private readonly jobs: DiskImageJobsService,
  ) {}

  /** Per device: the last image, its age and size, an open job. */
  @Get('disk-images')
  @ApiSummary('Devices with full-disk images or image jobs')
  @RequirePermission('backups.view')
  @ZodResponse(200, DiskImageFleetPageSchema)
  fleet(@ZodQuery(DiskImageFleetQuerySchema) query: DiskImageFleetQuery) {
    return this.images.fleet(query);
  }

  @Get('devices/:id/disk-images')
  @ApiSummary("List a device's full-disk images, newest first, with its current job", { errors: ['DEVICE_NOT_FOUND'] })
  @RequirePermission('backups.view')
  @ZodResponse(200, DeviceDiskImagesSchema)
  list(@ZodParams(IdParamSchema) params: Id) {
    return this.images.forDevice(params.id);
  }

  /** Reboots the device into its recovery stick (unless it is in recovery mode), images its disks, reboots back. */
  @Post('devices/:id/disk-images')
  @ApiSummary('Take a full-disk image now', {
    errors: ['DEVICE_NOT_FOUND', 'DEVICE_NOT_ACTIVE', 'DEVICE_QUARANTINED', 'DISK_IMAGE_JOB_IN_PROGRESS', 'DISK_IMAGE_DISK_INVALID'],
  })
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('disk_image.take', 'device')
  @ZodResponse(201, DiskImageJobSchema)
  take(
    @ZodParams(IdParamSchema) params: Id,
    @ZodBody(DiskImageTakeRequestSchema) body: DiskImageTakeRequest,
    @CurrentActor() actor: Actor,
  ) {
    return this.jobs.take(actor, params.id, body);
  }

  /** Overwrites the device's disks with the image: typed confirmation of the device's name. */
  @Post('devices/:id/disk-images/:imageName/restore')
  @ApiSummary('Restore a full-disk image onto a device', {
    errors: [
      'DEVICE_NOT_FOUND',
      'DEVICE_NOT_ACTIVE',
      'DEVICE_QUARANTINED',
      'DISK_IMAGE_NOT_FOUND',
      'DISK_IMAGE_CONFIRMATION_MISMATCH',
      'DISK_IMAGE_TARGET_INVALID',
      'DISK_IMAGE_JOB_IN_PROGRESS',
    ],
  })
  @RequirePermission('devices.critical_actions')
  @Critical()
  @Audited('disk_image.restore', 'device')
  @ZodResponse(201, DiskImageJobSchema)
  restore(
    @ZodParams(DeviceImageParamSchema) params: DeviceImage,
    @ZodBody(DiskImageRestoreRequestSchema) body: DiskImageRestoreRequest,
    @CurrentActor() actor: Actor,
  ) {
    return this.jobs.restore(actor, params.id, params.imageName, body);
  }
}
