import { Injectable, Logger } from '@nestjs/common';
import { BACKUP_DEFAULT_IMAGE_LOCAL_TIME, BACKUP_DEFAULT_IMAGE_WEEKDAY, IMAGE_WEEKDAYS } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import type { DiskImageSlotOutcome } from './disk-image-slot.entity.js';
import { DiskImageJobsRepository } from './disk-image-jobs.repository.js';
import { DiskImageScheduleRepository, type DueImageSlot } from './disk-image-schedule.repository.js';
import { RecoveryMediaQueries } from '../recovery/recovery-media-queries.js';
import { DiskImageSweepService } from './disk-image-sweep.service.js';
import { imageNameAt } from './restore-targets.js';

/**
 * A slot whose time passed while no worker ran (a restart, an outage) is still taken within this
 * window; later it is left to the overdue alert rather than rebooting a device into its stick at midday.
 */
export const DISK_IMAGE_CATCH_UP_SECONDS = 6 * 3600;

/** Who a scheduled job's commands are signed for (the job's requested_by; its trigger says `schedule`). */
export const DISK_IMAGE_SCHEDULE_ACTOR = 'system:disk-image-schedule';

export interface ScheduledImageSlot extends DueImageSlot {
  outcome: DiskImageSlotOutcome;
  jobId: string | null;
  reason: string | null;
}

/**
 * The worker's every-minute job for FULL and HYBRID devices: at the weekly slot (Sunday 03:00 in
 * the site's zone unless the policy says otherwise) one disk-image job per device and slot,
 * through the same path as "Take full image now": the job is created `requested` with trigger
 * `schedule`, and at the device's next poll the API queues reboot-to-recovery (or, in recovery
 * mode, the stick's registration or next poll queues recovery.image): disk-image-jobs.service.ts.
 *
 * Each slot is a row keyed by (device, local date) taken in the same transaction as its outcome,
 * so however many workers run, a slot happens once: queued (a job), skipped (the device had a job
 * open: recorded with that job) or failed (no active recovery medium: a failed job with the
 * reason, whose `disk_image.failed` event alerts through rule disk-image-failed).
 */
@Injectable()
export class DiskImageScheduleService {
  private readonly logger = new Logger(DiskImageScheduleService.name);

  constructor(
    private readonly db: Database,
    private readonly slots: DiskImageScheduleRepository,
    private readonly jobs: DiskImageJobsRepository,
    private readonly sweeper: DiskImageSweepService,
    private readonly media: RecoveryMediaQueries,
  ) {}

  async scheduleDue(now = new Date()): Promise<ScheduledImageSlot[]> {
    const due = await this.slots.due(now, DISK_IMAGE_CATCH_UP_SECONDS, {
      weekday: IMAGE_WEEKDAYS.indexOf(BACKUP_DEFAULT_IMAGE_WEEKDAY),
      localTime: BACKUP_DEFAULT_IMAGE_LOCAL_TIME,
    });
    const taken: ScheduledImageSlot[] = [];
    for (const slot of due) {
      // One transaction per slot: one device's trouble does not hold back the others.
      const result = await this.db.detached(() => this.takeSlot(slot, now));
      if (result) taken.push(result);
    }
    if (taken.length > 0) {
      this.logger.log({
        msg: 'weekly disk-image slots taken',
        queued: taken.filter((s) => s.outcome === 'queued').length,
        skipped: taken.filter((s) => s.outcome === 'skipped').length,
        failed: taken.filter((s) => s.outcome === 'failed').length,
      });
    }
    return taken;
  }

  private async takeSlot(slot: DueImageSlot, now: Date): Promise<ScheduledImageSlot | null> {
    const device = await this.slots.lockDevice(slot.deviceId);
    if (!device || device.status !== 'active') return null;
    if (!(await this.slots.claim(slot, now))) return null;
    const settle = async (outcome: DiskImageSlotOutcome, jobId: string | null, reason: string | null) => {
      await this.slots.settle(slot, outcome, jobId, reason);
      return { ...slot, outcome, jobId, reason };
    };
    const open = await this.jobs.openFor(slot.deviceId);
    if (open) {
      return settle('skipped', open.id, `job ${open.id} (${open.kind}, trigger ${open.trigger}) was ${open.state}`);
    }
    const job = await this.jobs.create(
      {
        deviceId: slot.deviceId,
        kind: 'image',
        state: 'requested',
        trigger: 'schedule',
        imageName: imageNameAt(now),
        params: { disks: [], slotDate: slot.slotDate },
        requestedBy: DISK_IMAGE_SCHEDULE_ACTOR,
      },
      now,
    );
    if (!(await this.media.hasActiveMedium(slot.deviceId))) {
      const reason = 'no active recovery medium: create one on the Recovery tab and flash it into the device';
      await this.sweeper.fail(job, `weekly image of ${slot.slotDate} not taken: ${reason}`, now);
      return settle('failed', job.id, reason);
    }
    return settle('queued', job.id, null);
  }
}
