import { describe, expect, it } from 'vitest';
import { expiredSnapshots, isOurSnapshot, snapshotName } from './snapshot-retention.js';

const DAY = 86_400;
const now = new Date('2026-12-04T03:00:00Z');
const t = now.getTime() / 1000;
const ds = 'pool/file-backups/6f1c1c52-4d7e-4a51-9a43-2f1f1bb1f001';

describe('snapshot retention', () => {
  it('names snapshots by UTC time and recognises only its own', () => {
    expect(snapshotName(new Date('2026-12-04T03:00:05.123Z'))).toBe('xs-hourly-20261204T030005Z');
    expect(isOurSnapshot('xs-hourly-20261204T030005Z')).toBe(true);
    for (const s of ['xs-hourly-', 'manual-before-upgrade', 'xs-hourly-20261204T030005Z-x', 'xs-daily-20261204T030005Z']) {
      expect(isOurSnapshot(s), s).toBe(false);
    }
  });

  it('destroys only our snapshots older than the floor, never the newest', () => {
    const snaps = [
      { name: `${ds}@xs-hourly-20261101T000000Z`, creation: t - 33 * DAY },
      { name: `${ds}@manual`, creation: t - 40 * DAY },
      { name: `${ds}@xs-hourly-20261119T000000Z`, creation: t - 15 * DAY },
      { name: `${ds}@xs-hourly-20261120T040000Z`, creation: t - 14 * DAY + 60 },
      { name: `${ds}@xs-hourly-20261204T020000Z`, creation: t - 3600 },
    ];
    expect(expiredSnapshots(snaps, now, 14)).toEqual([`${ds}@xs-hourly-20261101T000000Z`, `${ds}@xs-hourly-20261119T000000Z`]);
    // A device that stopped backing up keeps its last snapshot however old.
    expect(expiredSnapshots(snaps.slice(0, 3), now, 14)).toEqual([`${ds}@xs-hourly-20261101T000000Z`]);
    expect(() => expiredSnapshots(snaps, now, 0)).toThrow(RangeError);
  });
});
