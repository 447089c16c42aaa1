import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/** The entity classes a data source maps; the composition roots pass theirs (api/src/entities.ts). */
export type EntityList = NonNullable<DataSourceOptions['entities']>;

/**
 * One definition of the database connection, for the app, the worker, the migrate script and
 * tests. db knows no feature: the caller names the entities.
 */
export function dataSourceOptions(dbUrl: string, entities: EntityList, poolSize = 10): DataSourceOptions {
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
    extra: { max: poolSize, connectionTimeoutMillis: 5_000, application_name: 'xspectre-api' },
  };
}
