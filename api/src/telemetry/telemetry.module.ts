import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { DeviceTelemetryController } from './device-telemetry.controller.js';
import { DeviceTelemetryService } from './device-telemetry.service.js';
import { TelemetryStoreModule } from './telemetry-store.module.js';

/** A device's telemetry, charts and connectivity history, over HTTP. */
@Module({
  imports: [TelemetryStoreModule, DevicesModule],
  controllers: [DeviceTelemetryController],
  providers: [DeviceTelemetryService],
})
export class TelemetryModule {}
