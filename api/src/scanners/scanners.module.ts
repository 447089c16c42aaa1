import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { ScannersController } from './scanners.controller.js';
import { ScannersService } from './scanners.service.js';
import { ScannerFleetRepository } from './scanner-fleet.repository.js';
import { ScannersStoreModule } from './scanners-store.module.js';
import { ScannerOpsStoreModule } from './scanner-ops-store.module.js';

/** Scanner operations (issue 19): the fleet's scanners and one scanner's report, from their heartbeats. */
@Module({
  imports: [DevicesModule, ScannersStoreModule, ScannerOpsStoreModule],
  controllers: [ScannersController],
  providers: [ScannersService, ScannerFleetRepository],
  exports: [ScannersService, ScannersStoreModule, ScannerOpsStoreModule],
})
export class ScannersModule {}
