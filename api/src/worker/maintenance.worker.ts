import { Logger } from '@nestjs/common';
import { Queue, Worker, type DefaultJobOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/config.js';
import {
  MAINTENANCE_QUEUE,
  MaintenanceJob,
  type MaintenanceJobName,
  type MaintenancePayload,
  type MaintenanceResult,
} from './maintenance.jobs.js';
import type { MaintenanceProcessor } from './maintenance.processor.js';

/** BullMQ's key prefix: under REDIS_KEY_PREFIX, so several installations (or tests) can share one Redis. */
export function bullPrefix(config: AppConfig): string {
  return `${config.REDIS_KEY_PREFIX}bull`;
}

const JOB_OPTIONS: DefaultJobOptions = {
  // Transient failures (database restart, lock timeout) get two more tries: after 30 s, then 60 s.
  attempts: 3,
  backoff: { type: 'exponential', delay: 30_000 },
  // A short history is enough to inspect recent runs; Redis must not grow forever.
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 500 },
};

type MaintenanceQueue = Queue<MaintenancePayload, MaintenanceResult, MaintenanceJobName>;
// The worker accepts any name: an unknown one must reach the processor and fail loudly.
type MaintenanceBullWorker = Worker<MaintenancePayload, MaintenanceResult, string>;

/** The maintenance queue, its repeatable schedules, and the worker that consumes it. */
export class MaintenanceWorker {
  private static readonly logger = new Logger(MaintenanceWorker.name);

  private constructor(
    readonly queue: MaintenanceQueue,
    readonly worker: MaintenanceBullWorker,
    private readonly connection: Redis,
  ) {}

  static async start(config: AppConfig, processor: MaintenanceProcessor): Promise<MaintenanceWorker> {
    // A connection of its own: BullMQ blocks on it and needs maxRetriesPerRequest null,
    // unlike the shared fail-fast client of RedisModule.
    const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    const prefix = bullPrefix(config);
    const queue: MaintenanceQueue = new Queue(MAINTENANCE_QUEUE, { connection, prefix, defaultJobOptions: JOB_OPTIONS });
    const worker: MaintenanceBullWorker = new Worker(MAINTENANCE_QUEUE, (job) => processor.process(job), {
      connection,
      prefix,
      concurrency: config.API_WORKER_CONCURRENCY,
    });
    const self = new MaintenanceWorker(queue, worker, connection);
    self.logEvents();
    try {
      // Upserts are idempotent: every worker start (re)writes the same schedules.
      await queue.upsertJobScheduler(MaintenanceJob.PurgeSessions, { every: 3600_000 }, { name: MaintenanceJob.PurgeSessions, data: {} });
      await queue.upsertJobScheduler(MaintenanceJob.MetricRollups, { every: 60_000 }, { name: MaintenanceJob.MetricRollups, data: {} });
      // A truncation of the audit trail is detectable back to the last checkpoint: keep it a minute old at most.
      await queue.upsertJobScheduler(MaintenanceJob.AuditCheckpoint, { every: 60_000 }, { name: MaintenanceJob.AuditCheckpoint, data: {} });
      await queue.upsertJobScheduler(MaintenanceJob.ExpireCommands, { every: 30_000 }, { name: MaintenanceJob.ExpireCommands, data: {} });
      // Alerts: conditions held long enough, offline durations, device events, fleet share, silences.
      await queue.upsertJobScheduler(MaintenanceJob.EvaluateAlerts, { every: 30_000 }, { name: MaintenanceJob.EvaluateAlerts, data: {} });
      // Nightly backups: a run per device and local slot date (uq_backup_runs_slot), so every minute is safe.
      await queue.upsertJobScheduler(MaintenanceJob.ScheduleBackups, { every: 60_000 }, { name: MaintenanceJob.ScheduleBackups, data: {} });
      // Overdue backups (26 h without success): minutes late at most, one event per episode however often it runs.
      await queue.upsertJobScheduler(
        MaintenanceJob.DetectOverdueBackups,
        { every: 600_000 },
        { name: MaintenanceJob.DetectOverdueBackups, data: {} },
      );
      // Offline is noticed within 30 s of the third missed interval.
      // Feed updates: a run per scanner and slot (uq_scanner_feed_runs_slot), so running twice is safe.
      await queue.upsertJobScheduler(
        MaintenanceJob.ScheduleFeedUpdates,
        { every: 300_000 },
        { name: MaintenanceJob.ScheduleFeedUpdates, data: {} },
      );
      await queue.upsertJobScheduler(
        MaintenanceJob.PurgeReportSummaries,
        { every: 600_000 },
        { name: MaintenanceJob.PurgeReportSummaries, data: {} },
      );
      await queue.upsertJobScheduler(MaintenanceJob.DetectOffline, { every: 30_000 }, { name: MaintenanceJob.DetectOffline, data: {} });
      // Disk-image jobs waiting on a stick that never registered (API_DISK_IMAGE_RECOVERY_WAIT_SECONDS): a minute late at most.
      await queue.upsertJobScheduler(
        MaintenanceJob.SweepDiskImageJobs,
        { every: 60_000 },
        { name: MaintenanceJob.SweepDiskImageJobs, data: {} },
      );
      // Weekly full-disk images: a slot row per device and local date (pk_disk_image_slots), so every minute is safe.
      await queue.upsertJobScheduler(
        MaintenanceJob.ScheduleDiskImages,
        { every: 60_000 },
        { name: MaintenanceJob.ScheduleDiskImages, data: {} },
      );
      // Overdue images (8 days without one): one event per episode however often it runs.
      await queue.upsertJobScheduler(
        MaintenanceJob.DetectOverdueDiskImages,
        { every: 600_000 },
        { name: MaintenanceJob.DetectOverdueDiskImages, data: {} },
      );
      // Hourly is cheap (a no-op most runs) and survives a worker that was down at midnight.
      await queue.upsertJobScheduler(
        MaintenanceJob.MetricPartitions,
        { every: 3600_000 },
        { name: MaintenanceJob.MetricPartitions, data: {} },
      );
      await queue.upsertJobScheduler(
        MaintenanceJob.HeartbeatPartitions,
        { every: 3600_000 },
        { name: MaintenanceJob.HeartbeatPartitions, data: {} },
      );
      // Terminal recordings past API_TERMINAL_RECORDING_RETENTION_DAYS: hourly is a no-op most runs and survives downtime.
      await queue.upsertJobScheduler(
        MaintenanceJob.PruneTerminalRecordings,
        { every: 3600_000 },
        { name: MaintenanceJob.PruneTerminalRecordings, data: {} },
      );
      // Incremental every 5 minutes (only rows appended since the last run); GET audit/verify reads the result.
      await queue.upsertJobScheduler(
        MaintenanceJob.VerifyAuditChain,
        { every: 300_000 },
        { name: MaintenanceJob.VerifyAuditChain, data: {} },
      );
      // Daily, the whole chain again: an edit of a row verified earlier shows here (incremental runs re-check only their starting row).
      await queue.upsertJobScheduler(
        MaintenanceJob.VerifyAuditChainFull,
        { pattern: '30 3 * * *', tz: 'UTC' },
        { name: MaintenanceJob.VerifyAuditChainFull, data: {} },
      );
      await worker.waitUntilReady();
    } catch (error) {
      await self.close();
      throw error;
    }
    return self;
  }

  /** Stops taking jobs, waits for running ones, then drops the Redis connection. */
  async close(): Promise<void> {
    try {
      await this.worker.close();
      await this.queue.close();
    } finally {
      // BullMQ does not close a connection it was given.
      await this.connection.quit().catch(() => this.connection.disconnect());
    }
  }

  private logEvents(): void {
    const log = MaintenanceWorker.logger;
    const describe = (job: Job) => ({
      jobId: job.id,
      job: job.name,
      attempt: job.attemptsMade,
      durationMs: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : undefined,
    });
    this.worker.on('completed', (job, result) => log.log({ msg: 'maintenance job completed', ...describe(job), result }));
    this.worker.on('failed', (job, error) => {
      const willRetry = job !== undefined && job.attemptsMade < (job.opts.attempts ?? 1) && error.name !== 'UnrecoverableError';
      log.error({
        msg: 'maintenance job failed',
        ...(job ? describe(job) : {}),
        willRetry,
        err: { message: error.message, stack: error.stack },
      });
    });
    // Without listeners these would be thrown as unhandled 'error' events and kill the process.
    this.worker.on('error', (error) => log.error({ msg: 'maintenance worker error', err: { message: error.message } }));
    this.queue.on('error', (error) => log.error({ msg: 'maintenance queue error', err: { message: error.message } }));
  }
}
