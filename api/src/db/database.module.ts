import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { dataSourceOptions, type EntityList } from './data-source-options.js';
import { DEVICE_DATA_SOURCE, Database } from './database.js';

const logger = new Logger('Database');

/** The TypeORM name of the API's second pool (agent requests and heartbeat group commits). */
const DEVICE_POOL = 'devices';

/**
 * An idle pooled connection that PostgreSQL ends (restart, pg_terminate_backend: 57P01) makes the
 * pool emit 'error'; the pool drops that client and the next query opens a new one. TypeORM's own
 * handler would only reach its logger, which is off (data-source-options.ts): log it as ours.
 */
function poolErrorHandler(error: Error & { code?: string }): void {
  logger.warn({ msg: 'database connection lost (the pool opens a new one)', code: error.code, err: error.message });
}

/**
 * `api`: two pools, operators' requests (statements bounded by DB_STATEMENT_TIMEOUT_MS) and devices
 * (agent requests, heartbeat group commits), so operators reading never hold up ingestion.
 * `worker`: one pool, unbounded (verification and rollups are long by nature).
 */
export type DatabaseProcess = 'api' | 'worker';

/**
 * The connection pools and Database, global. `register(entities, process)`: the composition root
 * (app.module.ts, the worker's module) passes the entity list (api/src/entities.ts), since db
 * imports no feature.
 */
@Module({})
export class DatabaseModule {
  static register(entities: EntityList, process: DatabaseProcess): DynamicModule {
    const operators = TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config.DB_URL, entities, config.DB_POOL_SIZE, {
          applicationName: process === 'api' ? 'xspectre-api' : 'xspectre-worker',
          statementTimeoutMs: process === 'api' ? config.DB_STATEMENT_TIMEOUT_MS : 0,
        }),
        poolErrorHandler,
        retryAttempts: 3,
        retryDelay: 1000,
      }),
    });
    const devices =
      process === 'api'
        ? [
            TypeOrmModule.forRootAsync({
              name: DEVICE_POOL,
              inject: [APP_CONFIG],
              useFactory: (config: AppConfig) => ({
                ...dataSourceOptions(config.DB_URL, entities, config.DB_DEVICE_POOL_SIZE, { applicationName: 'xspectre-api-devices' }),
                poolErrorHandler,
                retryAttempts: 3,
                retryDelay: 1000,
              }),
            }),
          ]
        : [];
    return {
      module: DatabaseModule,
      global: true,
      imports: [operators, ...devices],
      providers: [{ provide: DEVICE_DATA_SOURCE, useExisting: getDataSourceToken(process === 'api' ? DEVICE_POOL : undefined) }, Database],
      exports: [Database],
    };
  }
}
