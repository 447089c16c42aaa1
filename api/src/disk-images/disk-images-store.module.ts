import { Module } from '@nestjs/common';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { RecoveryStoreModule } from '../recovery/recovery-store.module.js';
import { DiskImageJobsRepository } from './disk-image-jobs.repository.js';
import { DiskImageOverdueService } from './disk-image-overdue.service.js';
import { DiskImageScheduleRepository } from './disk-image-schedule.repository.js';
import { DiskImageScheduleService } from './disk-image-schedule.service.js';
import { DiskImageSweepService } from './disk-image-sweep.service.js';
import { DiskImagesRepository } from './disk-images.repository.js';

/**
 * The catalog and the jobs without routes: the worker imports it for the every-minute sweep of
 * jobs whose wait is over, the weekly image slots of FULL and HYBRID devices and their overdue job. The repositories are exported for DiskImagesModule in this folder only
 * (api/lint/layers.mjs).
 */
@Module({
  imports: [DeviceEventsModule, RecoveryStoreModule],
  providers: [
    DiskImagesRepository,
    DiskImageJobsRepository,
    DiskImageScheduleRepository,
    DiskImageSweepService,
    DiskImageScheduleService,
    DiskImageOverdueService,
  ],
  exports: [DiskImagesRepository, DiskImageJobsRepository, DiskImageSweepService, DiskImageScheduleService, DiskImageOverdueService],
})
export class DiskImagesStoreModule {}
