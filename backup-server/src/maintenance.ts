import { collectCapacityReport, type CapacityReportSink } from './capacity-report.js';
import { errorText, type Logger } from './log.js';
import type { DiskImageStore } from './disk-images/image-store.js';
import type { StorageDriver } from './storage/storage-driver.js';
import { isScrubDue } from './storage/zpool-status.js';

export interface MaintenanceOptions {
  storage: StorageDriver;
  /** Stale disk-image uploads expire each tick (BACKUP_IMAGE_UPLOAD_TTL_HOURS). */
  images?: DiskImageStore;
  log: Logger;
  sink: CapacityReportSink;
  snapshotIntervalMinutes: number;
  scrubIntervalDays: number;
  now?: () => Date;
}

/**
 * The hourly tick: a snapshot round (new snapshot per device, expired ones destroyed), a
 * scrub when the last one ended `scrubIntervalDays` ago (state read back from `zpool status`,
 * so a restart neither skips nor repeats one), expiry of stale disk-image uploads, and a capacity report. One tick at a time.
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: MaintenanceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.snapshotIntervalMinutes * 60_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  tick(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const { storage, log } = this.options;
    const now = this.now();
    try {
      const round = await storage.snapshotRound(now);
      log.log(round.failed.length ? 'error' : 'info', 'snapshot round', {
        created: round.created.length,
        destroyed: round.destroyed.length,
        failed: round.failed.map((f) => `${f.name}: ${f.error}`).join('; ') || undefined,
      });
    } catch (err) {
      log.log('error', 'snapshot round failed', { error: errorText(err) });
    }
    try {
      const scrub = await storage.scrubStatus();
      if (scrub && isScrubDue(scrub, now, this.options.scrubIntervalDays)) {
        await storage.startScrub();
        log.log('info', 'scrub started', {
          previousState: scrub.state,
          previousFinishedAt: scrub.finishedAt,
          previousErrors: scrub.errors,
        });
      }
    } catch (err) {
      log.log('error', 'scrub failed to start', { error: errorText(err) });
    }
    try {
      await this.options.images?.expireStale(now);
    } catch (err) {
      log.log('error', 'disk-image upload expiry failed', { error: errorText(err) });
    }
    try {
      const report = await collectCapacityReport(storage, now);
      if (report.lastScrub?.errors)
        log.log('error', 'last scrub found errors', { errors: report.lastScrub.errors, finishedAt: report.lastScrub.finishedAt });
      await this.options.sink.send(report);
    } catch (err) {
      log.log('error', 'capacity report failed', { error: errorText(err) });
    }
  }
}
