import { Module } from '@nestjs/common';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { BackupDeviceStatesRepository } from './backup-device-states.repository.js';
import { BackupOverdueService } from './backup-overdue.service.js';
import { BackupRunsRepository } from './backup-runs.repository.js';
import { BackupScheduleService } from './backup-schedule.service.js';

/**
 * Backup runs without routes: the worker imports it for the every-minute scheduling job and the
 * overdue job. The repositories are exported for BackupsModule in this folder only (api/lint/layers.mjs).
 */
@Module({
  imports: [DeviceEventsModule],
  providers: [BackupRunsRepository, BackupScheduleService, BackupDeviceStatesRepository, BackupOverdueService],
  exports: [BackupRunsRepository, BackupScheduleService, BackupDeviceStatesRepository, BackupOverdueService],
})
export class BackupsStoreModule {}
