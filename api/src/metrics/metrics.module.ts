import { Global, Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { HubModule } from '../hub/hub.module.js';
import { HEARTBEAT_COMMIT_OBSERVER } from '../ingest/heartbeat-commit-observer.js';
import { LiveEndpointModule } from '../live/live-endpoint.module.js';
import { ApiMetricsService } from './api-metrics.service.js';

/**
 * The API's Prometheus metrics on API_METRICS_LISTEN. Global so that the HeartbeatWriter (ingest,
 * a layer below) finds its optional commit observer without importing this module.
 */
@Global()
@Module({
  imports: [DevicesModule, HubModule, LiveEndpointModule],
  providers: [ApiMetricsService, { provide: HEARTBEAT_COMMIT_OBSERVER, useExisting: ApiMetricsService }],
  exports: [HEARTBEAT_COMMIT_OBSERVER],
})
export class MetricsModule {}
