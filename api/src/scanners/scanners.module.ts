import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { ScannerSnapshotsRepository } from './scanner-snapshots.repository.js';
import { ScannerHistoryRepository } from './scanner-history.repository.js';
import { ScannersController } from './scanners.controller.js';
import { ScannersService } from './scanners.service.js';

/** Scanner operations (issue 19): the latest GMP report of each scanner, from its heartbeats. */
@Module({
  imports: [DevicesModule],
  controllers: [ScannersController],
  providers: [ScannerSnapshotsRepository, ScannerHistoryRepository, ScannersService],
  exports: [ScannersService],
})
export class ScannersModule {}
