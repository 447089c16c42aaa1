import { Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsModule } from '../auth/sessions.module.js';
import type { AppConfig } from '../config/config.js';
import { ConfigModule } from '../config/config.module.js';
import { DatabaseModule } from '../db/database.module.js';
import { ENTITIES } from '../entities.js';
import { RedisModule } from '../redis/redis.module.js';
import { LiveModule } from '../live/live.module.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { TelemetryStoreModule } from '../telemetry/telemetry-store.module.js';
import { HeartbeatStorageModule } from '../ingest/heartbeat-storage.module.js';
import { CommandsStoreModule } from '../commands/commands-store.module.js';
import { AlertDeliveryStoreModule } from '../alert-delivery/alert-delivery-store.module.js';
import { AlertsStoreModule } from '../alerts/alerts-store.module.js';
import { BackupsStoreModule } from '../backups/backups-store.module.js';
import { ScannerOpsStoreModule } from '../scanners/scanner-ops-store.module.js';
import { RemoteAccessStoreModule } from '../remote-access/remote-access-store.module.js';
import { DiskImagesStoreModule } from '../disk-images/disk-images-store.module.js';

/**
 * The worker process's modules: no HTTP, and deliberately not AuthModule/UsersModule, whose
 * startup hooks (bootstrap admin) belong to the API. SessionsModule needs only Database.
 */
@Module({})
export class WorkerModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.register(config),
        DatabaseModule.register(ENTITIES, 'worker'),
        RedisModule,
        LiveModule,
        AuditModule,
        SessionsModule,
        TelemetryStoreModule,
        HeartbeatStorageModule,
        CommandsStoreModule,
        AlertsStoreModule,
        AlertDeliveryStoreModule,
        BackupsStoreModule,
        ScannerOpsStoreModule,
        RemoteAccessStoreModule,
        DiskImagesStoreModule,
      ],
      providers: [MaintenanceProcessor],
      exports: [MaintenanceProcessor],
    };
  }
}
