import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/** The entity classes a data source maps; the composition roots pass theirs (api/src/entities.ts). */
export type EntityList = NonNullable<DataSourceOptions['entities']>;

export interface PoolOptions {
  /** Ends any statement on this pool's connections running longer (0 or unset: no bound). */
  statementTimeoutMs?: number;
  /** Shown in pg_stat_activity, so an operator can tell the pools apart. */
  applicationName?: string;
}

/**
 * One definition of the database connection, for the app, the worker, the migrate script and
 * tests. db knows no feature: the caller names the entities.
 */
export function dataSourceOptions(dbUrl: string, entities: EntityList, poolSize = 10, pool: PoolOptions = {}): DataSourceOptions {
  return {
    type: 'postgres',
    uuidExtension: 'pgcrypto',
    url: dbUrl,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 5_000,
      application_name: pool.applicationName ?? 'xspectre-api',
      ...(pool.statementTimeoutMs ? { statement_timeout: pool.statementTimeoutMs } : {}),
    },
  };
}
