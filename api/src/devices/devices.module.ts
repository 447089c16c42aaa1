import { Module } from '@nestjs/common';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { HubModule } from '../hub/hub.module.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { ClaimCodesController } from './claim-codes.controller.js';
import { ClaimCodesRepository } from './claim-codes.repository.js';
import { DevicesController } from './devices.controller.js';
import { DevicesRepository } from './devices.repository.js';
import { DevicesService } from './devices.service.js';
import { FleetSummaryCache } from './fleet-summary-cache.js';
import { FleetViewRepository } from './fleet-view.repository.js';

/**
 * Device rows, claim codes and the fleet list. Other features reach devices only through
 * DevicesService (`requireDevice`, `assertMayChange`, and the steps enrollment, the agent API
 * and inventory need).
 */
@Module({
  imports: [OrganizationsModule, HubModule, DeviceEventsModule],
  controllers: [DevicesController, ClaimCodesController],
  providers: [DevicesService, DevicesRepository, FleetViewRepository, FleetSummaryCache, ClaimCodesRepository],
  exports: [DevicesService],
})
export class DevicesModule {}
