/**
 * Hourly ZFS snapshots of each device's dataset are the floor under its restic repository: a
 * device token (even a stolen prune token) reaches only restic's REST protocol, never ZFS, so
 * what these snapshots hold survives any `forget`/`prune`. Only snapshots named by us
 * (`@xs-hourly-…`) are ever destroyed, and only once older than the floor; the newest of a
 * dataset is always kept.
 */
export const SNAPSHOT_PREFIX = 'xs-hourly-';
const OUR_SNAPSHOT = /^xs-hourly-\d{8}T\d{6}Z$/;

/** `xs-hourly-20261204T030000Z` for the given time. */
export function snapshotName(now: Date): string {
  return `${SNAPSHOT_PREFIX}${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')}`;
}

export function isOurSnapshot(snapshot: string): boolean {
  return OUR_SNAPSHOT.test(snapshot);
}

export interface SnapshotInfo {
  /** `dataset@snapshot` */
  name: string;
  /** Seconds since the epoch. */
  creation: number;
}

/** Our snapshots of one dataset older than `floorDays`, except the newest of ours. */
export function expiredSnapshots(snapshots: readonly SnapshotInfo[], now: Date, floorDays: number): string[] {
  if (!(floorDays >= 1)) throw new RangeError('the snapshot floor is at least one day');
  const ours = snapshots.filter((s) => isOurSnapshot(s.name.slice(s.name.indexOf('@') + 1))).sort((a, b) => a.creation - b.creation);
  const cutoff = now.getTime() / 1000 - floorDays * 86_400;
  return ours
    .slice(0, -1)
    .filter((s) => s.creation < cutoff)
    .map((s) => s.name);
}
