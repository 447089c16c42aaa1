import { Module } from '@nestjs/common';
import { BackupRunsRepository } from './backup-runs.repository.js';
import { BackupScheduleService } from './backup-schedule.service.js';

/**
 * Backup runs without routes: the worker imports it for the every-minute scheduling job. The
 * repository is exported for BackupsModule in this folder only (api/lint/layers.mjs).
 */
@Module({ providers: [BackupRunsRepository, BackupScheduleService], exports: [BackupRunsRepository, BackupScheduleService] })
export class BackupsStoreModule {}
