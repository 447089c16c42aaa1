import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import {
  ALERT_DELIVERY_QUEUE,
  AlertDeliveryJob,
  type AlertDeliveryJobName,
  type AlertDeliveryPayload,
  type AlertDeliveryResult,
} from './alert-delivery.jobs.js';

/** BullMQ's key prefix, as api/src/worker/maintenance.worker.ts's bullPrefix (which this layer cannot import). */
export function alertDeliveryBullPrefix(config: AppConfig): string {
  return `${config.REDIS_KEY_PREFIX}bull`;
}

type DeliveryQueue = Queue<AlertDeliveryPayload, AlertDeliveryResult, AlertDeliveryJobName>;

/** An add that Redis does not take within this is given up: the sweeper finds the alert anyway. */
const ADD_TIMEOUT_MS = 3_000;

/**
 * The producer side of the delivery queue, in the API and the worker: wakes the queue for an
 * alert now (`kick`) or at a time (`wakeAt`). Failures are logged, never thrown: the rows are
 * committed, and the worker's sweeper hands every due alert to the queue within seconds.
 */
@Injectable()
export class AlertDeliveryQueue implements OnModuleDestroy {
  private readonly logger = new Logger(AlertDeliveryQueue.name);
  private queue: DeliveryQueue | null = null;
  private connection: Redis | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** One deliver job per alert; a second kick while one waits is the same job, and one while it runs queues one more run. */
  async kick(alertIds: string[]): Promise<void> {
    const unique = [...new Set(alertIds)];
    if (unique.length === 0) return;
    await this.guard(
      'kick',
      Promise.all(
        unique.map((alertId) =>
          this.open().add(
            AlertDeliveryJob.Deliver,
            { alertId },
            { deduplication: { id: alertId, keepLastIfActive: true }, removeOnComplete: true, removeOnFail: { count: 100 } },
          ),
        ),
      ),
    );
  }

  /** A deliver job for this alert at `at` (a retry's time); the same time twice is one job. */
  async wakeAt(alertId: string, at: Date): Promise<void> {
    const delay = Math.max(0, at.getTime() - Date.now());
    await this.guard(
      'wake',
      this.open().add(
        AlertDeliveryJob.Deliver,
        { alertId },
        { delay, jobId: `wake-${alertId}-${at.getTime()}`, removeOnComplete: true, removeOnFail: { count: 100 } },
      ),
    );
  }

  async onModuleDestroy(): Promise<void> {
    const { queue, connection } = this;
    this.queue = null;
    this.connection = null;
    await queue?.close().catch(() => undefined);
    await connection?.quit().catch(() => connection.disconnect());
  }

  private open(): DeliveryQueue {
    if (this.queue) return this.queue;
    // A connection of its own (BullMQ's scripts), failing fast like the shared client of RedisModule.
    const connection = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    connection.on('error', (error: Error) => this.logger.warn({ msg: 'alert delivery queue: redis problem', err: error.message }));
    const queue: DeliveryQueue = new Queue(ALERT_DELIVERY_QUEUE, { connection, prefix: alertDeliveryBullPrefix(this.config) });
    queue.on('error', (error) => this.logger.warn({ msg: 'alert delivery queue error', err: error.message }));
    this.connection = connection;
    this.queue = queue;
    return queue;
  }

  private async guard(what: string, work: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ADD_TIMEOUT_MS} ms`)), ADD_TIMEOUT_MS);
    });
    try {
      await Promise.race([work, timeout]);
    } catch (error) {
      this.logger.warn({ msg: `alert delivery ${what} failed; the sweeper will find these alerts`, err: (error as Error).message });
      // The add may still settle later: keep its rejection from being unhandled.
      work.catch(() => undefined);
    } finally {
      clearTimeout(timer);
    }
  }
}
