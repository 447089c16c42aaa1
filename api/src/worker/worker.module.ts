import { Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SESSIONS_PROVIDERS } from '../auth/auth.module.js';
import type { AppConfig } from '../config/config.js';
import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../db/database.module.js';
import { ENTITIES } from '../entities.js';
import { RedisModule } from '../redis/redis.module.js';
import { LiveModule } from '../live/live.module.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { MetricPartitionsRepository } from '../telemetry/metric-partitions.repository.js';
import { ConnectivityRepository } from '../telemetry/connectivity.repository.js';
import { MetricRollupsRepository } from '../telemetry/metric-rollups.repository.js';

/**
 * The worker process's modules: no HTTP, and deliberately not AuthModule/UsersModule, whose
 * startup hooks (bootstrap admin) belong to the API. SESSIONS_PROVIDERS (SessionsService) need only Database.
 */
@Module({})
export class WorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.register(config), DatabaseModule.register(ENTITIES), RedisModule, LiveModule, AuditModule],
      providers: [...SESSIONS_PROVIDERS, MetricPartitionsRepository, ConnectivityRepository, MetricRollupsRepository, MaintenanceProcessor],
      exports: [MaintenanceProcessor],
    };
  }
}
