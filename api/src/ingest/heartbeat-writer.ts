import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import type { HeartbeatSubmission } from './heartbeat-batch.js';
import { HEARTBEAT_COMMIT_LISTENER, type HeartbeatCommitListener } from './heartbeat-commit-listener.js';
import { HEARTBEAT_COMMIT_OBSERVER, type HeartbeatCommitObserver } from './heartbeat-commit-observer.js';
import { heartbeatRetry, type RetryHistory } from './heartbeat-retry.js';
import { HeartbeatStore, type StoredBatch, type StoredSubmission } from './heartbeat-store.js';

interface Pending {
  submission: HeartbeatSubmission;
  resolve: (result: StoredSubmission) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for heartbeats. Requests queue their heartbeats; a writer takes everything
 * queued (up to API_HEARTBEAT_BATCH_MAX) and writes it in one transaction, then answers each
 * request (API_HEARTBEAT_WRITERS writers at most; device rows are locked in id order, so
 * concurrent batches never deadlock and a device's heartbeats still apply in order). Under load, batches grow by themselves while the previous write runs; when idle, a
 * heartbeat is written at once. A request is answered only after its rows committed, so an
 * acknowledgement never outruns the database.
 */
@Injectable()
export class HeartbeatWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger(HeartbeatWriter.name);
  private queue: Pending[] = [];
  private queuedHeartbeats = 0;
  /** Writers running; two overlap one commit's flush to disk with the next batch's statement. */
  private writers = 0;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: HeartbeatStore,
    /** Told about each committed batch (live updates); its failure never fails the write. */
    @Inject(HEARTBEAT_COMMIT_LISTENER) private readonly listener: HeartbeatCommitListener,
    /** Counts each group commit (api/src/metrics); absent when nothing counts. */
    @Optional() @Inject(HEARTBEAT_COMMIT_OBSERVER) private readonly observer: HeartbeatCommitObserver | null = null,
  ) {}

  submit(submission: HeartbeatSubmission): Promise<StoredSubmission> {
    if (this.queuedHeartbeats + submission.heartbeats.length > this.config.API_HEARTBEAT_QUEUE_MAX) {
      throw new AppError('HEARTBEAT_QUEUE_FULL', 'the API is writing a backlog; keep the heartbeats journaled and retry', {
        retryAfterSeconds: 5,
      });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ submission, resolve, reject });
      this.queuedHeartbeats += submission.heartbeats.length;
      this.start();
    });
  }

  private start(): void {
    // A second writer starts only once a backlog exists: an idle API writes each heartbeat at once.
    if (this.writers >= this.config.API_HEARTBEAT_WRITERS || (this.writers > 0 && this.queue.length < 2)) return;
    if (this.writers === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
    this.writers += 1;
    // setImmediate lets the requests already parsed in this turn join the first batch; the
    // writer's own context keeps the first request's id out of the shared transaction.
    setImmediate(() =>
      requestContext.run({ requestId: 'heartbeat-writer', sourceIp: null, audit: {}, dbLane: 'devices' }, () => void this.drain()),
    );
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.take();
      await this.flush(batch);
    }
    this.writers -= 1;
    if (this.writers === 0) this.markIdle();
  }

  /** Takes queued submissions up to the batch size (always at least one). */
  private take(): Pending[] {
    let count = 0;
    let n = 0;
    while (
      n < this.queue.length &&
      (n === 0 || count + this.queue[n]!.submission.heartbeats.length <= this.config.API_HEARTBEAT_BATCH_MAX)
    ) {
      count += this.queue[n]!.submission.heartbeats.length;
      n += 1;
    }
    const batch = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    this.queuedHeartbeats -= count;
    return batch;
  }

  private async flush(batch: Pending[]): Promise<void> {
    const submissions = batch.map((p) => p.submission);
    const history: RetryHistory = { submissions: batch.length, transient: 0, inFull: 0 };
    const startedAt = process.hrtime.bigint();
    let stored: StoredBatch | undefined;
    while (!stored) {
      try {
        stored = await this.store.write(submissions);
      } catch (error) {
        const next = heartbeatRetry(error, history);
        if (next.action === 'again') history.transient += 1;
        else if (next.action === 'again-in-full') {
          this.store.forgetDocuments(submissions);
          history.inFull += 1;
        } else if (next.action === 'each-alone') {
          for (const pending of batch) await this.flush([pending]);
          return;
        } else {
          this.logger.error({ msg: 'heartbeat write failed', submissions: batch.length, err: (error as Error).message });
          for (const pending of batch) pending.reject(next.error);
          return;
        }
      }
    }
    const committed = stored;
    batch.forEach((pending, i) => pending.resolve(committed.outcomes[i] ?? null));
    this.observe(committed, batch.length, startedAt);
    try {
      this.listener.committed(committed);
    } catch (error) {
      this.logger.warn({ msg: 'after-commit hook failed', err: (error as Error).message });
    }
  }

  private observe(committed: StoredBatch, submissions: number, startedAt: bigint): void {
    if (!this.observer) return;
    let accepted = 0;
    let duplicates = 0;
    for (const outcome of committed.outcomes) {
      accepted += outcome?.accepted ?? 0;
      duplicates += outcome?.duplicates ?? 0;
    }
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    try {
      this.observer.committed({ submissions, accepted, duplicates, seconds });
    } catch (error) {
      this.logger.warn({ msg: 'heartbeat commit observer failed', err: (error as Error).message });
    }
  }

  /** Lets queued heartbeats finish before the database pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.idle;
  }
}
