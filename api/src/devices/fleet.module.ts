import { Module } from '@nestjs/common';
import { AgentController } from '../agent-api/agent.controller.js';
import { AgentDownloadsController } from '../agent-api/agent-downloads.controller.js';
import { DeviceAuthenticator } from '../agent-api/device-authenticator.js';
import { HeartbeatBatchRepository } from '../agent-api/heartbeat-batch.repository.js';
import { HeartbeatStore } from '../agent-api/heartbeat-store.js';
import { HeartbeatWriter } from '../agent-api/heartbeat-writer.js';
import { HEARTBEAT_COMMIT_LISTENER } from '../agent-api/heartbeat-commit-listener.js';
import { HeartbeatLiveListener } from '../agent-api/heartbeat-live-listener.js';
import { InventoryController } from '../inventory/inventory.controller.js';
import { InventoryRepository } from '../inventory/inventory.repository.js';
import { InventoryService } from '../inventory/inventory.service.js';
import { DeviceEventsController } from '../device-events/device-events.controller.js';
import { DeviceEventsRepository } from '../device-events/device-events.repository.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import { DeviceTelemetryController } from '../telemetry/device-telemetry.controller.js';
import { DeviceTelemetryService } from '../telemetry/device-telemetry.service.js';
import { MetricPartitionsRepository } from '../telemetry/metric-partitions.repository.js';
import { HeartbeatsService } from '../agent-api/heartbeats.service.js';
import { EnrollmentController } from '../enrollment/enrollment.controller.js';
import { EnrollmentService } from '../enrollment/enrollment.service.js';
import { HubService } from '../hub/hub.service.js';
import { OverlayAllocator } from '../hub/overlay-allocator.js';
import { OverlayLeasesRepository } from '../hub/overlay-leases.repository.js';
import { OrganizationsModule } from '../organizations/organizations.module.js';
import { ClaimCodesController } from './claim-codes.controller.js';
import { ClaimCodesRepository } from './claim-codes.repository.js';
import { DevicesController } from './devices.controller.js';
import { DevicesRepository } from './devices.repository.js';
import { DevicesService } from './devices.service.js';
import { TelemetryRepository } from '../telemetry/telemetry.repository.js';
import { ConnectivityRepository } from '../telemetry/connectivity.repository.js';
import { MetricSeriesRepository } from '../telemetry/metric-series.repository.js';
import { MetricsService } from '../telemetry/metrics.service.js';

/**
 * Devices, claim codes, enrollment, the hub and the agent API: one module because they share
 * the device store and the hub (devices need the hub to revoke, the hub reads the devices).
 */
@Module({
  imports: [OrganizationsModule],
  controllers: [
    DevicesController,
    ClaimCodesController,
    EnrollmentController,
    AgentController,
    AgentDownloadsController,
    InventoryController,
    DeviceEventsController,
    DeviceTelemetryController,
  ],
  providers: [
    DevicesService,
    DevicesRepository,
    ClaimCodesRepository,
    EnrollmentService,
    HubService,
    OverlayAllocator,
    OverlayLeasesRepository,
    HeartbeatsService,
    HeartbeatWriter,
    { provide: HEARTBEAT_COMMIT_LISTENER, useClass: HeartbeatLiveListener },
    HeartbeatStore,
    HeartbeatBatchRepository,
    MetricPartitionsRepository,
    InventoryService,
    InventoryRepository,
    DeviceEventsService,
    DeviceEventsRepository,
    DeviceTelemetryService,
    DeviceAuthenticator,
    TelemetryRepository,
    ConnectivityRepository,
    MetricSeriesRepository,
    MetricsService,
  ],
  exports: [DeviceAuthenticator, DevicesService, HubService],
})
export class FleetModule {}
