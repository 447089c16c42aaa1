import { Module } from '@nestjs/common';
import { FeedScheduleJob } from './feed-schedule.job.js';
import { FeedScheduleRepository } from './feed-schedule.repository.js';
import { FeedSchedules } from './feed-schedules.service.js';

/**
 * Feed update schedules without routes: the worker schedules runs with FeedScheduleJob; the
 * routes and the poll hook that queues the runs' commands are api/src/scanner-ops's.
 */
@Module({ providers: [FeedScheduleRepository, FeedScheduleJob, FeedSchedules], exports: [FeedScheduleJob, FeedSchedules] })
export class ScannerOpsStoreModule {}
