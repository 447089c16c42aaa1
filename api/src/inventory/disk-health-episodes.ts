import { smartDiskKey, smartFailure, type DiskHealthReport } from '@xspectre/contracts';

/** A disk counted as failing: its identity (serial, else device path) and why, with its device. */
export interface FailingDisk {
  disk: string;
  reason: string;
}

export interface DiskHealthJudgement {
  /** What the row keeps as failing after this reading. */
  failing: FailingDisk[];
  /** Disks failing now that were not before: a `disk.smart_failed` event when non-empty. */
  newlyFailing: FailingDisk[];
  /** Some disk was failing and none is now: a `disk.smart_ok` event (resolves the alert). */
  recovered: boolean;
}

/**
 * Pure: a SMART reading against the disks failing before it. An unavailable reading (smartctl
 * missing, no permission) changes nothing: it tells nothing about the disks. A disk that was
 * failing and is now unreadable (its reading has an error and no FAILED verdict) stays failing;
 * a failing disk that is gone from the reading (replaced) no longer counts.
 */
export function judgeDiskHealth(previous: readonly FailingDisk[], report: DiskHealthReport): DiskHealthJudgement {
  if (report.status === 'unavailable') return { failing: [...previous], newlyFailing: [], recovered: false };
  const failing: FailingDisk[] = [];
  for (const disk of report.disks) {
    const key = smartDiskKey(disk);
    if (failing.some((f) => f.disk === key)) continue;
    const reason = smartFailure(disk);
    const before = previous.find((p) => p.disk === key);
    if (reason !== null) failing.push({ disk: key, reason: `${disk.device}: ${reason}` });
    else if (before && disk.error !== null) failing.push(before);
  }
  const newlyFailing = failing.filter((f) => !previous.some((p) => p.disk === f.disk));
  return { failing, newlyFailing, recovered: previous.length > 0 && failing.length === 0 };
}
