import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { serveMetrics, type ListenAddress, type MetricsListener } from './metrics-listener.js';

/** A BullMQ queue this worker process consumes: its name, key prefix and the worker taking its jobs. */
export interface ObservedQueue {
  name: string;
  prefix: string;
  worker: Worker;
}

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * The worker process's Prometheus metrics on WORKER_METRICS_LISTEN: each queue's depth by state
 * (read from Redis at scrape time: a few LLEN/ZCARD per queue), this process's job outcomes, and
 * Node's process metrics.
 */
export class WorkerMetrics {
  private constructor(
    private readonly listener: MetricsListener,
    private readonly queues: Queue[],
    private readonly connection: Redis,
  ) {}

  get port(): number {
    return this.listener.port;
  }

  static async start(
    redisUrl: string,
    address: ListenAddress,
    observed: ObservedQueue[],
    onError: (error: Error) => void,
  ): Promise<WorkerMetrics> {
    const registry = new Registry();
    const registers = [registry];
    collectDefaultMetrics({ register: registry, prefix: 'xspectre_worker_' });
    const jobs = new Counter({
      name: 'xspectre_worker_jobs_total',
      help: 'Jobs this worker process finished, by queue and outcome (failed counts every failed attempt, retries included)',
      labelNames: ['queue', 'outcome'],
      registers,
    });
    // Fail fast: a scrape must not wait on a Redis that is down (it answers 500 instead).
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    connection.on('error', () => undefined);
    const queues = observed.map((q) => new Queue(q.name, { connection, prefix: q.prefix }));
    for (const queue of queues) queue.on('error', (error) => onError(error));
    for (const { name, worker } of observed) {
      jobs.inc({ queue: name, outcome: 'completed' }, 0);
      jobs.inc({ queue: name, outcome: 'failed' }, 0);
      worker.on('completed', () => jobs.inc({ queue: name, outcome: 'completed' }));
      worker.on('failed', () => jobs.inc({ queue: name, outcome: 'failed' }));
    }
    new Gauge({
      name: 'xspectre_worker_queue_jobs',
      help: 'Jobs in each queue by state (waiting, active, delayed, failed), installation-wide',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...STATES)));
        queues.forEach((queue, i) => {
          for (const state of STATES) this.set({ queue: queue.name, state }, counts[i]![state] ?? 0);
        });
      },
    });
    try {
      const listener = await serveMetrics(registry, address, onError);
      return new WorkerMetrics(listener, queues, connection);
    } catch (error) {
      await Promise.all(queues.map((queue) => queue.close()));
      connection.disconnect();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.listener.close();
    await Promise.all(this.queues.map((queue) => queue.close()));
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
