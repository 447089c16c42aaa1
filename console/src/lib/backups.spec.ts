import type { BackupPolicy } from '@xspectre/contracts';
import { describe, expect, it } from 'vitest';
import {
  backupNowBlocker,
  hasOpenRun,
  isModeAvailable,
  linesOf,
  mayUseBackups,
  newestFirst,
  policyFormOf,
  policyUpdateOf,
  runOriginText,
  runStatusTone,
  siteTimeText,
  weeklySlotText,
} from './backups';

const granted =
  (...permissions: string[]) =>
  (p: string) =>
    permissions.includes(p);

const policy: BackupPolicy = {
  deviceId: '3f0c2a3e-7b1d-4c55-9a8e-0d6f1b2c3d4e',
  mode: 'OFF',
  paths: ['/etc', '/srv'],
  excludes: ['*.tmp'],
  localTime: '02:00',
  keepDaily: 7,
  keepWeekly: 4,
  timeZone: 'Europe/Berlin',
  nextRunAt: null,
  imageWeekday: 'sunday',
  imageLocalTime: '03:00',
  keepImages: 3,
  nextImageAt: null,
  customized: false,
  updatedAt: null,
  updatedBy: null,
};

describe('backups', () => {
  it('reads one entry per line, trimmed, without blank lines', () => {
    expect(linesOf('  /etc \r\n\n/srv/data\n   \n/home')).toEqual(['/etc', '/srv/data', '/home']);
    expect(linesOf('')).toEqual([]);
    expect(linesOf('\n \n')).toEqual([]);
    // Duplicates stay: the API names them ("paths must be distinct").
    expect(linesOf('/etc\n/etc')).toEqual(['/etc', '/etc']);
  });

  it('turns a policy into the form and the form back into the PUT body', () => {
    const form = policyFormOf(policy);
    expect(form).toEqual({
      mode: 'OFF',
      paths: '/etc\n/srv',
      excludes: '*.tmp',
      localTime: '02:00',
      keepDaily: '7',
      keepWeekly: '4',
      imageWeekday: 'sunday',
      imageLocalTime: '03:00',
      keepImages: '3',
    });
    expect(policyUpdateOf({ ...form, mode: 'FILE', paths: '/etc\n\n /opt/app ', localTime: ' 03:30 ', keepWeekly: ' 0 ' })).toEqual({
      mode: 'FILE',
      paths: ['/etc', '/opt/app'],
      excludes: ['*.tmp'],
      localTime: '03:30',
      keepDaily: 7,
      keepWeekly: 0,
      imageWeekday: 'sunday',
      imageLocalTime: '03:00',
      keepImages: 3,
    });
    // Counts that are not whole numbers go as null, for the API to refuse at their field; nothing is guessed.
    const odd = policyUpdateOf({ ...form, keepDaily: '7.5', keepWeekly: 'four' });
    expect(odd.keepDaily).toBeNull();
    expect(odd.keepWeekly).toBeNull();
    expect(JSON.parse(JSON.stringify(odd)).keepDaily).toBeNull();
    expect(policyUpdateOf({ ...form, keepDaily: '-1' }).keepDaily).toBe(-1);
    expect(policyUpdateOf({ ...form, excludes: '' }).excludes).toEqual([]);
  });

  it('offers every mode, and Back up now only where files are backed up (FILE, HYBRID)', () => {
    for (const mode of ['OFF', 'FILE', 'FULL', 'HYBRID'] as const) expect(isModeAvailable(mode)).toBe(true);
    expect(backupNowBlocker(undefined)).toMatch(/loading/);
    expect(backupNowBlocker({ mode: 'OFF' })).toBe('File backups are OFF for this device: set the mode to FILE or HYBRID first.');
    expect(backupNowBlocker({ mode: 'FULL' })).toBe('File backups are FULL for this device: set the mode to FILE or HYBRID first.');
    expect(backupNowBlocker({ mode: 'FILE' })).toBeNull();
    expect(backupNowBlocker({ mode: 'HYBRID' })).toBeNull();
  });

  it('sends the weekly image and images to keep as typed (a non-number as null, for the API to name)', () => {
    const form = policyFormOf(policy);
    expect(
      policyUpdateOf({ ...form, mode: 'HYBRID', imageWeekday: 'saturday', imageLocalTime: ' 04:15 ', keepImages: ' 4 ' }),
    ).toMatchObject({
      mode: 'HYBRID',
      imageWeekday: 'saturday',
      imageLocalTime: '04:15',
      keepImages: 4,
    });
    expect(policyUpdateOf({ ...form, keepImages: 'three' }).keepImages).toBeNull();
    expect(weeklySlotText('sunday', '03:00')).toBe('Sunday 03:00');
    // 2026-12-06T02:00Z is Sunday 03:00 in Berlin (CET).
    const berlin = siteTimeText('2026-12-06T02:00:00.000Z', 'Europe/Berlin');
    for (const part of ['Sun', '6 Dec 2026', '03:00']) expect(berlin).toContain(part);
    expect(siteTimeText('2026-12-06T02:00:00.000Z', 'Not/AZone')).toBe('2026-12-06T02:00:00.000Z');
  });

  it('checks the permission and, for internal infrastructure, the role', () => {
    expect(mayUseBackups('backups.trigger', granted('backups.trigger'), 'soc_operator', 'customer')).toBe(true);
    expect(mayUseBackups('backups.trigger', granted('backups.trigger'), 'soc_operator', 'internal')).toBe(false);
    expect(mayUseBackups('backups.trigger', granted('backups.trigger'), 'super_admin', 'internal')).toBe(true);
    expect(mayUseBackups('backups.restore', granted('backups.trigger'), 'soc_operator', 'customer')).toBe(false);
    expect(mayUseBackups('backups.trigger', granted('backups.view'), 'read_only', undefined)).toBe(false);
  });

  it('describes runs: tone, origin, open runs, order', () => {
    expect(runStatusTone('succeeded')).toBe('ok');
    expect(runStatusTone('failed')).toBe('bad');
    expect(runStatusTone('missed')).toBe('warn');
    expect(runStatusTone('scheduled')).toBe('info');
    expect(runOriginText({ slotDate: '2026-12-04', requestedBy: null })).toBe('2026-12-04');
    expect(runOriginText({ slotDate: null, requestedBy: 'ana@example.com' })).toBe('by hand (ana@example.com)');
    expect(runOriginText({ slotDate: null, requestedBy: null })).toBe('by hand');
    expect(hasOpenRun(undefined)).toBe(false);
    expect(hasOpenRun([{ status: 'succeeded' }, { status: 'failed' }])).toBe(false);
    expect(hasOpenRun([{ status: 'succeeded' }, { status: 'running' }])).toBe(true);
    expect(hasOpenRun([{ status: 'scheduled' }])).toBe(true);
    const runs = [{ createdAt: '2026-12-01T02:00:00Z' }, { createdAt: '2026-12-03T02:00:00Z' }, { createdAt: '2026-12-02T02:00:00Z' }];
    expect(newestFirst(runs).map((r) => r.createdAt.slice(0, 10))).toEqual(['2026-12-03', '2026-12-02', '2026-12-01']);
  });
});
