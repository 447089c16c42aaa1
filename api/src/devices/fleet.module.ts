import { Module } from '@nestjs/common';
import { AgentController } from '../agent-api/agent.controller.js';
import { AgentDownloadsController } from '../agent-api/agent-downloads.controller.js';
import { DeviceAuthenticator } from '../agent-api/device-authenticator.js';
import { HeartbeatsRepository } from '../agent-api/heartbeats.repository.js';
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
  controllers: [DevicesController, ClaimCodesController, EnrollmentController, AgentController, AgentDownloadsController],
  providers: [
    DevicesService,
    DevicesRepository,
    ClaimCodesRepository,
    EnrollmentService,
    HubService,
    OverlayAllocator,
    OverlayLeasesRepository,
    HeartbeatsService,
    HeartbeatsRepository,
    DeviceAuthenticator,
    TelemetryRepository,
    ConnectivityRepository,
    MetricSeriesRepository,
    MetricsService,
  ],
  exports: [DeviceAuthenticator, DevicesService, HubService],
})
export class FleetModule {}
