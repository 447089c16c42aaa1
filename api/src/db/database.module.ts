import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { dataSourceOptions, type EntityList } from './data-source-options.js';
import { Database } from './database.js';

const logger = new Logger('Database');

/**
 * An idle pooled connection that PostgreSQL ends (restart, pg_terminate_backend: 57P01) makes the
 * pool emit 'error'; the pool drops that client and the next query opens a new one. TypeORM's own
 * handler would only reach its logger, which is off (data-source-options.ts): log it as ours.
 */
function poolErrorHandler(error: Error & { code?: string }): void {
  logger.warn({ msg: 'database connection lost (the pool opens a new one)', code: error.code, err: error.message });
}

/**
 * The connection pool and Database, global. `register(entities)`: the composition root (app.module.ts,
 * the worker's module) passes the entity list (api/src/entities.ts), since db imports no feature.
 */
@Module({})
export class DatabaseModule {
  static register(entities: EntityList): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(config.DB_URL, entities, config.DB_POOL_SIZE),
            poolErrorHandler,
            retryAttempts: 3,
            retryDelay: 1000,
          }),
        }),
      ],
      providers: [Database],
      exports: [Database],
    };
  }
}
