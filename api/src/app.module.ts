import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from './config/config.js';
import { DatabaseModule } from './db/database.module.js';
import { RedisModule } from './redis/redis.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { AccessGuard } from './auth/access.guard.js';
import { DEVICE_REQUEST_AUTHENTICATOR } from './auth/device-request-authenticator.js';
import { DeviceAuthenticator } from './ingest/device-authenticator.js';
import { RECOVERY_REQUEST_AUTHENTICATOR } from './auth/recovery-request-authenticator.js';
import { RecoveryAuthenticator } from './recovery/recovery-authenticator.js';
import { RecoveryModule } from './recovery/recovery.module.js';
import { ENTITIES } from './entities.js';
import { UsersModule } from './users/users.module.js';
import { SsoModule } from './sso/sso.module.js';
import { OrganizationsModule } from './organizations/organizations.module.js';
import { SettingsModule } from './settings/settings.module.js';
import { HealthModule } from './health/health.module.js';
import { DevicesModule } from './devices/devices.module.js';
import { EnrollmentModule } from './enrollment/enrollment.module.js';
import { IngestModule } from './ingest/ingest.module.js';
import { RemoteAccessModule } from './remote-access/remote-access.module.js';
import { CommandsModule } from './commands/commands.module.js';
import { AlertsModule } from './alerts/alerts.module.js';
import { BackupsModule } from './backups/backups.module.js';
import { DiskImagesModule } from './disk-images/disk-images.module.js';
import { ScannersModule } from './scanners/scanners.module.js';
import { ScannerOpsModule } from './scanner-ops/scanner-ops.module.js';
import { AlertDeliveryModule } from './alert-delivery/alert-delivery.module.js';
import { InventoryModule } from './inventory/inventory.module.js';
import { TelemetryModule } from './telemetry/telemetry.module.js';
import { ProblemFilter } from './request-pipeline/problem.filter.js';
import { UnitOfWorkInterceptor } from './request-pipeline/unit-of-work.interceptor.js';
import { ResponseContractInterceptor } from './common/interceptors/response-contract.interceptor.js';
import { ConfigModule } from './config/config.module.js';
import { LiveModule } from './live/live.module.js';
import { LiveEndpointModule } from './live/live-endpoint.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        DatabaseModule.register(ENTITIES, 'api'),
        RedisModule,
        LiveModule,
        AuditModule,
        SettingsModule,
        AuthModule,
        UsersModule,
        SsoModule,
        OrganizationsModule,
        DevicesModule,
        EnrollmentModule,
        InventoryModule,
        TelemetryModule,
        CommandsModule,
        AlertDeliveryModule,
        AlertsModule,
        BackupsModule,
        RecoveryModule,
        ScannersModule,
        ScannerOpsModule,
        RemoteAccessModule,
        DiskImagesModule,
        IngestModule,
        HealthModule,
        LiveEndpointModule,
        MetricsModule,
      ],
      providers: [
        // The guard's check of agent requests, declared by auth and implemented by ingest.
        { provide: DEVICE_REQUEST_AUTHENTICATOR, useExisting: DeviceAuthenticator },
        // The guard's check of recovery sticks' requests, declared by auth and implemented by recovery.
        { provide: RECOVERY_REQUEST_AUTHENTICATOR, useExisting: RecoveryAuthenticator },
        { provide: APP_GUARD, useClass: AccessGuard },
        // Order matters: the unit of work wraps the response check, so a bad response rolls back.
        { provide: APP_INTERCEPTOR, useClass: UnitOfWorkInterceptor },
        { provide: APP_INTERCEPTOR, useClass: ResponseContractInterceptor },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
export { APP_CONFIG };
