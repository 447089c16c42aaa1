import { createHash } from 'node:crypto';
import type { ScannerFeedSchedule } from '@xspectre/contracts';

const DAY_MS = 86_400_000;

/**
 * A slot whose time passed while no worker ran is still taken within this window; later it is
 * skipped (the next slot comes within a week, and the stale-feed alerts say if that is too late).
 */
export const FEED_UPDATE_CATCH_UP_SECONDS = 6 * 3600;

type Slots = Pick<ScannerFeedSchedule, 'weekdays' | 'hourUtc'>;

function slotOn(dayStartMs: number, schedule: Slots): Date | null {
  const at = new Date(dayStartMs + schedule.hourUtc * 3600_000);
  return schedule.weekdays.includes(at.getUTCDay()) ? at : null;
}

function utcDayStart(at: Date): number {
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
}

/** The latest slot at or before `now`, or null when none in the past week. */
export function latestSlot(schedule: Slots, now: Date): Date | null {
  const today = utcDayStart(now);
  for (let d = 0; d <= 7; d++) {
    const at = slotOn(today - d * DAY_MS, schedule);
    if (at && at <= now) return at;
  }
  return null;
}

/** The first slot after `now`. */
export function nextSlot(schedule: Slots, now: Date): Date | null {
  const today = utcDayStart(now);
  for (let d = 0; d <= 7; d++) {
    const at = slotOn(today + d * DAY_MS, schedule);
    if (at && at > now) return at;
  }
  return null;
}

/**
 * The device's delay after the slot, in whole seconds within `jitterMinutes`: spread like random
 * but the same for a device and slot on every worker, so a second worker computes the same row.
 */
export function jitterSeconds(deviceId: string, slot: Date, jitterMinutes: number): number {
  if (jitterMinutes <= 0) return 0;
  const hash = createHash('sha256').update(`${deviceId}/${slot.toISOString()}`).digest();
  return hash.readUInt32BE(0) % (jitterMinutes * 60 + 1);
}
