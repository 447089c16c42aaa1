import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DeviceEventsService } from '../device-events/device-events.service.js';
import type { DiskImageJobEntity } from './disk-image-job.entity.js';
import { DiskImageJobsRepository } from './disk-image-jobs.repository.js';
import { DiskImageScheduleRepository } from './disk-image-schedule.repository.js';

const ERROR_MAX = 1000;
const UNFETCHED = new Set(['failed', 'rejected', 'expired', 'interrupted']);

/**
 * Ends disk-image jobs: with the reason and a device event (`disk_image.failed` alerts through
 * the built-in rule disk-image-failed, `disk_image.succeeded` resolves it; consoles following the
 * device hear both live), and the waits that are over: the worker's every-minute sweep and the
 * device's next poll (disk-image-jobs.service.ts).
 */
@Injectable()
export class DiskImageSweepService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'API_DISK_IMAGE_RECOVERY_WAIT_SECONDS'>,
    private readonly jobs: DiskImageJobsRepository,
    private readonly deviceEvents: DeviceEventsService,
    private readonly schedule: DiskImageScheduleRepository,
  ) {}

  /** Every open job whose wait is over, or whose command the device never took; the ids of those that failed. */
  async sweep(now = new Date()): Promise<string[]> {
    const failed: string[] = [];
    const open = await this.jobs.waitingSince(['requested', 'booting-recovery', 'imaging', 'restoring', 'rebooting'], now);
    for (const job of open) if (await this.sweepOne(job, now)) failed.push(job.id);
    return failed;
  }

  /** Ends one job whose wait is over; true when it failed. */
  async sweepOne(job: DiskImageJobEntity, now: Date): Promise<boolean> {
    const over = now.getTime() - job.waitingSince.getTime() >= this.config.API_DISK_IMAGE_RECOVERY_WAIT_SECONDS * 1000;
    const minutes = Math.round(this.config.API_DISK_IMAGE_RECOVERY_WAIT_SECONDS / 60);
    if (job.state === 'requested' && job.trigger === 'schedule' && !job.rebootCommandId && !job.recoveryCommandId) {
      // The weekly image starts at the device's next poll (disk-image-jobs.service.ts): none came.
      if (over) {
        await this.fail(job, `the device's agent did not poll within ${minutes} minutes of the weekly image slot`, now);
        return true;
      }
      return false;
    }
    if (job.state === 'requested' || job.state === 'booting-recovery') {
      // A restore keeps waiting: a dead device reaches the stick by boot order.
      if (job.kind === 'image' && job.rebootCommandId) {
        const reboot = await this.jobs.commandStatus(job.rebootCommandId);
        if (reboot && UNFETCHED.has(reboot.status)) {
          await this.fail(job, `reboot-to-recovery ${reboot.status}: the device did not take it`, now);
          return true;
        }
      }
      if (over) {
        await this.fail(job, `the recovery stick did not register within ${minutes} minutes`, now);
        return true;
      }
      return false;
    }
    if (job.state === 'imaging' || job.state === 'restoring') {
      const command = job.recoveryCommandId ? await this.jobs.commandStatus(job.recoveryCommandId) : null;
      if (command?.status === 'expired') {
        await this.fail(job, `${command.action} expired: the stick did not fetch it`, now);
        return true;
      }
      return false;
    }
    if (job.state === 'rebooting' && over) {
      await this.fail(job, `the device's agent was not heard within ${minutes} minutes of recovery.reboot`, now);
      return true;
    }
    return false;
  }

  async succeed(job: DiskImageJobEntity, now: Date): Promise<void> {
    await this.jobs.update(job.id, { state: 'succeeded', finishedAt: now, waitingSince: now }, now);
    // An image ends the device's overdue episode (disk-image-overdue.service.ts); the event below resolves its alert.
    if (job.kind === 'image') await this.schedule.endOverdue(job.deviceId);
    await this.ended(job, null, now);
  }

  async fail(job: DiskImageJobEntity, error: string, now: Date): Promise<void> {
    const text = error.slice(0, ERROR_MAX);
    await this.jobs.update(job.id, { state: 'failed', error: text, finishedAt: now }, now);
    await this.ended(job, text, now);
  }

  private async ended(job: DiskImageJobEntity, error: string | null, at: Date): Promise<void> {
    const details = { jobId: job.id, kind: job.kind, imageName: job.imageName, trigger: job.trigger };
    await this.deviceEvents.record(
      error
        ? { deviceId: job.deviceId, type: 'disk_image.failed', severity: 'warning', at, details: { ...details, error } }
        : { deviceId: job.deviceId, type: 'disk_image.succeeded', severity: 'info', at, details },
    );
  }
}
