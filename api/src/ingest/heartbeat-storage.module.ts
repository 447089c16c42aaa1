import { Module } from '@nestjs/common';
import { HeartbeatPartitionsRepository } from './heartbeat-partitions.repository.js';
import { HeartbeatStorageService } from './heartbeat-storage.service.js';

/** The raw heartbeat rows' partitions, without routes: the heartbeat writer and the worker both use it. */
@Module({
  providers: [HeartbeatPartitionsRepository, HeartbeatStorageService],
  exports: [HeartbeatStorageService],
})
export class HeartbeatStorageModule {}
