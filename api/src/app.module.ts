import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from './config/config.js';
import { DatabaseModule } from './db/database.module.js';
import { RedisModule } from './redis/redis.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { AccessGuard } from './auth/access.guard.js';
import { UsersModule } from './users/users.module.js';
import { OrganizationsModule } from './organizations/organizations.module.js';
import { SettingsModule } from './settings/settings.module.js';
import { HealthModule } from './health/health.module.js';
import { FleetModule } from './devices/fleet.module.js';
import { ProblemFilter } from './common/errors/problem.filter.js';
import { UnitOfWorkInterceptor } from './common/interceptors/unit-of-work.interceptor.js';
import { ResponseContractInterceptor } from './common/interceptors/response-contract.interceptor.js';
import { ConfigModule } from './config/config.module.js';
import { LiveModule } from './live/live.module.js';
import { LiveEndpointModule } from './live/live-endpoint.module.js';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(config),
        DatabaseModule,
        RedisModule,
        LiveModule,
        AuditModule,
        SettingsModule,
        AuthModule,
        UsersModule,
        OrganizationsModule,
        FleetModule,
        HealthModule,
        LiveEndpointModule,
      ],
      providers: [
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
