import { Logger } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/config.js';
import {
  ALERT_DELIVERY_QUEUE,
  AlertDeliveryJob,
  SWEEP_EVERY_MS,
  type AlertDeliveryJobName,
  type AlertDeliveryPayload,
  type AlertDeliveryResult,
} from './alert-delivery.jobs.js';
import type { AlertDeliveryProcessor } from './alert-delivery.processor.js';
import { alertDeliveryBullPrefix } from './alert-delivery.queue.js';

/**
 * Alerts sent at once. Each job waits on the network (10 s at most per request), so more than the
 * maintenance worker's; the row claims make concurrent jobs of one alert harmless.
 */
const CONCURRENCY = 8;

/** The consumer of the delivery queue (worker process only), and the sweeper's schedule. */
export class AlertDeliveryWorker {
  private static readonly logger = new Logger(AlertDeliveryWorker.name);

  private constructor(
    private readonly queue: Queue<AlertDeliveryPayload, AlertDeliveryResult, AlertDeliveryJobName>,
    readonly worker: Worker<AlertDeliveryPayload, AlertDeliveryResult, string>,
    private readonly connection: Redis,
  ) {}

  static async start(
    config: AppConfig,
    processor: AlertDeliveryProcessor,
    options: { sweepEveryMs?: number } = {},
  ): Promise<AlertDeliveryWorker> {
    // BullMQ blocks on this connection: it needs maxRetriesPerRequest null (maintenance.worker.ts does the same).
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    const prefix = alertDeliveryBullPrefix(config);
    const queue = new Queue<AlertDeliveryPayload, AlertDeliveryResult, AlertDeliveryJobName>(ALERT_DELIVERY_QUEUE, { connection, prefix });
    const worker = new Worker<AlertDeliveryPayload, AlertDeliveryResult, string>(ALERT_DELIVERY_QUEUE, (job) => processor.process(job), {
      connection,
      prefix,
      concurrency: CONCURRENCY,
    });
    const self = new AlertDeliveryWorker(queue, worker, connection);
    const log = AlertDeliveryWorker.logger;
    worker.on('failed', (job, error) =>
      log.error({ msg: 'alert delivery job failed', jobId: job?.id, job: job?.name, err: { message: error.message } }),
    );
    // Without listeners these would be unhandled 'error' events and end the process.
    worker.on('error', (error) => log.error({ msg: 'alert delivery worker error', err: { message: error.message } }));
    queue.on('error', (error) => log.error({ msg: 'alert delivery queue error', err: { message: error.message } }));
    try {
      await queue.upsertJobScheduler(
        AlertDeliveryJob.Sweep,
        { every: options.sweepEveryMs ?? SWEEP_EVERY_MS },
        { name: AlertDeliveryJob.Sweep, data: {}, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
      );
      await worker.waitUntilReady();
    } catch (error) {
      await self.close();
      throw error;
    }
    return self;
  }

  /** Stops taking jobs, waits for running ones (each ends within its requests' timeouts), then drops the connection. */
  async close(): Promise<void> {
    try {
      await this.worker.close();
      await this.queue.close();
    } finally {
      await this.connection.quit().catch(() => this.connection.disconnect());
    }
  }
}
