import { Module } from '@nestjs/common';
import { ConnectivityRepository } from './connectivity.repository.js';
import { MetricPartitionsRepository } from './metric-partitions.repository.js';
import { MetricRollupsRepository } from './metric-rollups.repository.js';
import { MetricSeriesRepository } from './metric-series.repository.js';
import { MetricsService } from './metrics.service.js';
import { TelemetryMaintenanceService } from './telemetry-maintenance.service.js';
import { TelemetryReadService } from './telemetry-read.service.js';
import { TelemetryRepository } from './telemetry.repository.js';

/**
 * Telemetry storage without routes: the API's telemetry routes, the heartbeat writer and the
 * worker (which has no HTTP and must not start the hub) all use it.
 */
@Module({
  providers: [
    ConnectivityRepository,
    MetricPartitionsRepository,
    MetricRollupsRepository,
    MetricSeriesRepository,
    TelemetryRepository,
    MetricsService,
    TelemetryMaintenanceService,
    TelemetryReadService,
  ],
  exports: [TelemetryMaintenanceService, TelemetryReadService, MetricsService],
})
export class TelemetryStoreModule {}
