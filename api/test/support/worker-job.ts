import { NestFactory } from '@nestjs/core';
import { createLogger, NestPinoLogger } from '../../src/common/logging/logger.js';
import { loadConfig } from '../../src/config/config.js';
import type { MaintenanceJobName } from '../../src/worker/maintenance.jobs.js';
import { MaintenanceProcessor } from '../../src/worker/maintenance.processor.js';
import { WorkerModule } from '../../src/worker/worker.module.js';
import { testEnv, type TestApi } from './harness.js';

/**
 * Runs one maintenance job once, as the worker process would: a worker context on the API's
 * database, Redis prefix and secret (so what it announces reaches that API's consoles).
 */
export async function runMaintenanceJob<T = unknown>(api: TestApi, job: MaintenanceJobName): Promise<T> {
  const config = loadConfig(
    testEnv(api.config.DB_URL, { REDIS_KEY_PREFIX: api.config.REDIS_KEY_PREFIX, API_SECRET_KEY: api.config.API_SECRET_KEY }),
  );
  const worker = await NestFactory.createApplicationContext(WorkerModule.register(config), {
    logger: new NestPinoLogger(createLogger('silent')),
  });
  try {
    return (await worker.get(MaintenanceProcessor).process({ name: job })) as T;
  } finally {
    await worker.close();
  }
}
