import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from './config/config.js';
import { createLogger, NestPinoLogger } from './common/logging/logger.js';
import { waitForDatabaseAtBoot } from './db/wait-for-database.js';
import { MAINTENANCE_QUEUE } from './worker/maintenance.jobs.js';
import { MaintenanceProcessor } from './worker/maintenance.processor.js';
import { bullPrefix, MaintenanceWorker } from './worker/maintenance.worker.js';
import { WorkerModule } from './worker/worker.module.js';
import { AlertDeliveryProcessor } from './alert-delivery/alert-delivery.processor.js';
import { AlertDeliveryWorker } from './alert-delivery/alert-delivery.worker.js';
import { ALERT_DELIVERY_QUEUE } from './alert-delivery/alert-delivery.jobs.js';
import { alertDeliveryBullPrefix } from './alert-delivery/alert-delivery.queue.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';

const config = loadConfigOrExit();

const logger = createLogger(config.API_LOG_LEVEL);
// As the API (main.ts): wait for PostgreSQL and its migrated schema rather than exit.
const handleSignalsFromHereOn = await waitForDatabaseAtBoot(config.DB_URL, { logger, maxWaitSeconds: config.DB_WAIT_SECONDS });
handleSignalsFromHereOn();
const app = await NestFactory.createApplicationContext(WorkerModule.register(config), {
  logger: new NestPinoLogger(logger),
  abortOnError: false,
});
const worker = await MaintenanceWorker.start(config, app.get(MaintenanceProcessor));
const deliveryWorker = await AlertDeliveryWorker.start(config, app.get(AlertDeliveryProcessor));
// Prometheus scrapes on a listener of the worker's own (api/src/metrics/worker-metrics.ts); unset = none.
const metrics = config.WORKER_METRICS_LISTEN
  ? await WorkerMetrics.start(
      config.REDIS_URL,
      config.WORKER_METRICS_LISTEN,
      [
        { name: MAINTENANCE_QUEUE, prefix: bullPrefix(config), worker: worker.worker },
        { name: ALERT_DELIVERY_QUEUE, prefix: alertDeliveryBullPrefix(config), worker: deliveryWorker.worker },
      ],
      (error) => logger.error({ err: { message: error.message } }, 'metrics collection failed'),
    )
  : null;

// Our own signal handling (no enableShutdownHooks): the worker must finish its running jobs
// before the app context closes the database pool they use. If that hangs, leave anyway.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('graceful shutdown timed out');
      process.exit(1);
    }, config.API_SHUTDOWN_GRACE_MS).unref();
    void (async () => {
      try {
        await worker.close();
        await deliveryWorker.close();
        await metrics?.close();
        await app.close();
        logger.info('worker stopped');
        process.exit(0);
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      }
    })();
  });
}
// Said only once the handlers above are in place: a SIGTERM sent on seeing it is always handled.
logger.info({ queue: MAINTENANCE_QUEUE, concurrency: config.API_WORKER_CONCURRENCY }, 'maintenance worker started');
logger.info('alert delivery worker started');
if (metrics) logger.info({ url: `http://${config.WORKER_METRICS_LISTEN!.host}:${metrics.port}/metrics` }, 'worker metrics listening');
