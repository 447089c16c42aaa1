import { Injectable } from '@nestjs/common';
import type { ScannerFeedSchedule, ScannerFeedScheduleView } from '@xspectre/contracts';
import type { ScannerFeedScheduleEntity } from './feed-schedule.entity.js';
import { FEED_UPDATE_CATCH_UP_SECONDS, nextSlot } from './feed-schedule.js';
import { FeedScheduleRepository } from './feed-schedule.repository.js';

/** A scheduled run the device's poll may queue now. */
export interface DueFeedRun {
  id: string;
  slotAt: Date;
  dueAt: Date;
  pruneOldImages: boolean;
}

/**
 * Sites' feed update schedules as the routes and the poll hook (api/src/scanner-ops) use them:
 * views and changes, the device's due runs and linking one to its command.
 */
@Injectable()
export class FeedSchedules {
  constructor(private readonly repo: FeedScheduleRepository) {}

  async view(siteId: string, now: Date, options: { lock?: boolean } = {}): Promise<ScannerFeedScheduleView> {
    return toView(siteId, await this.repo.find(siteId, options), now);
  }

  async save(siteId: string, schedule: ScannerFeedSchedule, by: string, now: Date): Promise<ScannerFeedScheduleView> {
    return toView(siteId, await this.repo.save(siteId, schedule, by, now), now);
  }

  remove(siteId: string): Promise<boolean> {
    return this.repo.delete(siteId);
  }

  async dueRuns(deviceId: string, now: Date): Promise<DueFeedRun[]> {
    const runs = await this.repo.dueWithoutCommand(deviceId, now, new Date(now.getTime() - FEED_UPDATE_CATCH_UP_SECONDS * 1000));
    return runs.map((r) => ({ id: r.id, slotAt: r.slotAt, dueAt: r.dueAt, pruneOldImages: r.pruneOldImages }));
  }

  attachCommand(runId: string, commandId: string): Promise<boolean> {
    return this.repo.attachCommand(runId, commandId);
  }
}

function toView(siteId: string, s: ScannerFeedScheduleEntity | null, now: Date): ScannerFeedScheduleView {
  const schedule: ScannerFeedSchedule | null = s
    ? {
        enabled: s.enabled,
        weekdays: [...s.weekdays],
        hourUtc: s.hourUtc,
        jitterMinutes: s.jitterMinutes,
        pruneOldImages: s.pruneOldImages,
      }
    : null;
  return {
    siteId,
    schedule,
    nextRunAt: schedule?.enabled ? (nextSlot(schedule, now)?.toISOString() ?? null) : null,
    updatedAt: s?.updatedAt.toISOString() ?? null,
    updatedBy: s?.updatedBy ?? null,
  };
}
