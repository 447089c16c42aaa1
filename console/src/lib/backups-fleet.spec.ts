import type { BackupFleetRow } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import { fleetFilterOf, fleetRowBadges, offsetOf, poolUsage, scrubView, usageText, verifiedView } from './backups-fleet';
import { bytes } from './format';

const row: BackupFleetRow = {
  deviceId: '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e',
  deviceName: 'scanner-1',
  organizationId: '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4f',
  siteId: '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d40',
  mode: 'FILE',
  lastRunAt: null,
  lastRunStatus: null,
  lastRunError: null,
  lastSuccessAt: null,
  lastSnapshotId: null,
  overdue: false,
  lastVerifiedAt: null,
  lastCheckOk: null,
  usedBytes: null,
  quotaBytes: null,
};

describe('backups fleet', () => {
  it('reads the filter and offset from the URL, ignoring anything else', () => {
    expect([fleetFilterOf('failing'), fleetFilterOf('overdue'), fleetFilterOf('x'), fleetFilterOf(null)]).toEqual([
      'failing',
      'overdue',
      undefined,
      undefined,
    ]);
    expect([offsetOf('100', 50), offsetOf('120', 50), offsetOf('-5', 50), offsetOf('abc', 50), offsetOf(null, 50)]).toEqual([
      100, 100, 0, 0, 0,
    ]);
  });

  it('warns from 85 % of a pool used and bounds the share', () => {
    expect(poolUsage({ name: 'p', sizeBytes: 100, usedBytes: 84, freeBytes: 16 })).toEqual({ fraction: 0.84, warn: false });
    expect(poolUsage({ name: 'p', sizeBytes: 100, usedBytes: 85, freeBytes: 15 })).toEqual({ fraction: 0.85, warn: true });
    expect(poolUsage({ name: 'p', sizeBytes: 0, usedBytes: 5, freeBytes: 0 }).fraction).toBe(0);
    expect(poolUsage({ name: 'p', sizeBytes: 10, usedBytes: 50, freeBytes: 0 }).fraction).toBe(1);
  });

  it('words the last scrub', () => {
    expect(scrubView(null).text).toContain('directory store');
    expect(scrubView({ state: 'none', finishedAt: null, errors: null })).toEqual({ text: 'never scrubbed', tone: 'warn' });
    expect(scrubView({ state: 'finished', finishedAt: '2026-12-01T03:00:00Z', errors: 0 })).toEqual({
      text: 'scrubbed, no errors',
      tone: 'ok',
    });
    expect(scrubView({ state: 'finished', finishedAt: '2026-12-01T03:00:00Z', errors: 2 })).toEqual({
      text: 'scrub found 2 errors',
      tone: 'bad',
    });
    expect(scrubView({ state: 'in_progress', finishedAt: null, errors: null }).tone).toBe('info');
  });

  it('shows usage against the quota', () => {
    expect(usageText(null, null, bytes)).toBeNull();
    expect(usageText(1024, null, bytes)).toBe('1.0 KiB (no quota)');
    expect(usageText(512 * 1024 * 1024, 1024 * 1024 * 1024, bytes)).toBe('512 MiB of 1.0 GiB (50 %)');
  });

  it('badges failing, overdue, a failed check and a nearly full quota', () => {
    expect(fleetRowBadges(row)).toEqual([]);
    const all = fleetRowBadges({
      ...row,
      lastRunStatus: 'failed',
      lastRunError: 'disk full',
      overdue: true,
      lastCheckOk: false,
      usedBytes: 95,
      quotaBytes: 100,
    });
    expect(all.map((b) => b.label)).toEqual(['failing', 'overdue', 'check failed', 'quota']);
    expect(all[0]!.title).toBe('disk full');
    expect(fleetRowBadges({ ...row, usedBytes: 89, quotaBytes: 100 })).toEqual([]);
  });

  it('says when a device was last verified restorable', () => {
    expect(verifiedView(row)).toEqual({ at: null, text: 'never verified', tone: 'neutral' });
    expect(verifiedView({ lastVerifiedAt: '2026-12-01T03:00:00Z', lastCheckOk: true }).tone).toBe('ok');
    expect(verifiedView({ lastVerifiedAt: '2026-12-01T03:00:00Z', lastCheckOk: false })).toMatchObject({
      text: 'last check failed',
      tone: 'bad',
    });
  });
});
