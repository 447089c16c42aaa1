import { describe, expect, it } from 'vitest';
import type { DiskHealth, DiskHealthReport } from '@xspectre/contracts';
import { judgeDiskHealth } from './disk-health-episodes.js';

const disk = (over: Partial<DiskHealth> = {}): DiskHealth => ({
  device: '/dev/sda',
  protocol: 'ATA',
  model: null,
  serial: 'S1',
  health: 'passed',
  temperatureC: 30,
  powerOnHours: 100,
  reallocatedSectors: 0,
  pendingSectors: 0,
  mediaErrors: null,
  percentageUsed: null,
  criticalWarning: null,
  error: null,
  ...over,
});
const ok = (disks: DiskHealth[]): DiskHealthReport => ({ collectedAt: '2026-12-05T10:00:00Z', status: 'ok', disks });
const FAILED = { disk: 'S1', reason: '/dev/sda: SMART health self-assessment FAILED' };

describe('judgeDiskHealth', () => {
  it('a disk turning failing is new once; the same disk failing again is not', () => {
    const first = judgeDiskHealth([], ok([disk({ health: 'failed' })]));
    expect(first).toEqual({ failing: [FAILED], newlyFailing: [FAILED], recovered: false });
    expect(judgeDiskHealth(first.failing, ok([disk({ health: 'failed', temperatureC: 40 })]))).toEqual({
      failing: [FAILED],
      newlyFailing: [],
      recovered: false,
    });
  });

  it('an unavailable reading or an unreadable failing disk changes nothing', () => {
    const unavailable: DiskHealthReport = { collectedAt: '2026-12-05T10:00:00Z', status: 'unavailable', reason: 'x', disks: [] };
    expect(judgeDiskHealth([FAILED], unavailable)).toEqual({ failing: [FAILED], newlyFailing: [], recovered: false });
    const unreadable = disk({ health: 'unknown', error: 'smartctl: timed out after 20000 ms' });
    expect(judgeDiskHealth([FAILED], ok([unreadable]))).toEqual({ failing: [FAILED], newlyFailing: [], recovered: false });
    // Unreadable and not failing before: nothing to say either way.
    expect(judgeDiskHealth([], ok([unreadable]))).toEqual({ failing: [], newlyFailing: [], recovered: false });
  });

  it('passing again, or the failing disk replaced, recovers; a disk without serial is known by its path', () => {
    expect(judgeDiskHealth([FAILED], ok([disk()])).recovered).toBe(true);
    expect(judgeDiskHealth([FAILED], ok([disk({ serial: 'S2' })])).recovered).toBe(true);
    const noSerial = judgeDiskHealth([], ok([disk({ serial: null, criticalWarning: 4, protocol: 'NVMe', device: '/dev/nvme0' })]));
    expect(noSerial.failing).toEqual([{ disk: '/dev/nvme0', reason: '/dev/nvme0: NVMe critical warning 0x04' }]);
    // The same disk listed twice (two paths to it) counts once.
    expect(judgeDiskHealth([], ok([disk({ health: 'failed' }), disk({ health: 'failed', device: '/dev/sg0' })])).failing).toEqual([FAILED]);
  });
});
