import { Injectable, Logger } from '@nestjs/common';
import { FEED_UPDATE_CATCH_UP_SECONDS, jitterSeconds, latestSlot } from './feed-schedule.js';
import { FeedScheduleRepository, type PlannedRun } from './feed-schedule.repository.js';

export interface ScheduledFeedUpdate {
  runId: string;
  deviceId: string;
  slotAt: string;
  dueAt: string;
}

/**
 * The worker's job (every few minutes): for each enabled site schedule whose latest slot has come
 * (within FEED_UPDATE_CATCH_UP_SECONDS, and not before the schedule was last saved), a run per
 * active scanner of the site, due at the slot plus the device's jitter. The device's poll turns a
 * due run into its `scanner.feed-update` command (feed-schedule.service.ts), as backups do.
 */
@Injectable()
export class FeedScheduleJob {
  private readonly logger = new Logger(FeedScheduleJob.name);

  constructor(private readonly schedules: FeedScheduleRepository) {}

  async scheduleDue(now = new Date()): Promise<ScheduledFeedUpdate[]> {
    const planned: PlannedRun[] = [];
    for (const { schedule, deviceIds } of await this.schedules.enabledWithScanners()) {
      const slot = latestSlot(schedule, now);
      // A slot before the schedule existed (or was changed) is not this schedule's to run.
      if (!slot || slot < schedule.updatedAt || now.getTime() - slot.getTime() > FEED_UPDATE_CATCH_UP_SECONDS * 1000) continue;
      for (const deviceId of deviceIds)
        planned.push({
          deviceId,
          slotAt: slot,
          dueAt: new Date(slot.getTime() + jitterSeconds(deviceId, slot, schedule.jitterMinutes) * 1000),
          pruneOldImages: schedule.pruneOldImages,
        });
    }
    const created = await this.schedules.insertRuns(planned, now);
    if (created.length > 0) this.logger.log({ msg: 'feed updates scheduled', runs: created.length });
    return created.map((r) => ({ runId: r.id, deviceId: r.deviceId, slotAt: r.slotAt.toISOString(), dueAt: r.dueAt.toISOString() }));
  }
}
