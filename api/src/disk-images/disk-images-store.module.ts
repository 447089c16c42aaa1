import { Module } from '@nestjs/common';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { DiskImageJobsRepository } from './disk-image-jobs.repository.js';
import { DiskImageSweepService } from './disk-image-sweep.service.js';
import { DiskImagesRepository } from './disk-images.repository.js';

/**
 * The catalog and the jobs without routes: the worker imports it for the every-minute sweep of
 * jobs whose wait is over. The repositories are exported for DiskImagesModule in this folder only
 * (api/lint/layers.mjs).
 */
@Module({
  imports: [DeviceEventsModule],
  providers: [DiskImagesRepository, DiskImageJobsRepository, DiskImageSweepService],
  exports: [DiskImagesRepository, DiskImageJobsRepository, DiskImageSweepService],
})
export class DiskImagesStoreModule {}
