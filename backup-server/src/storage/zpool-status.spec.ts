import { describe, expect, it } from 'vitest';
import { isScrubDue, parseScrubStatus, parseZpoolTime } from './zpool-status.js';

const status = (scanLine: string) =>
  `  pool: tank\n state: ONLINE\n${scanLine}\nconfig:\n\n\tNAME STATE\n\ntank ONLINE\nerrors: No known data errors\n`;
const local = (y: number, mo: number, d: number, h: number, mi: number, s: number) => new Date(y, mo, d, h, mi, s).toISOString();

describe('zpool status', () => {
  it('reads zfs-fuse lines', () => {
    expect(parseScrubStatus(status(' scrub: none requested'))).toEqual({ state: 'none', finishedAt: null, errors: null });
    expect(parseScrubStatus(status(' scrub: scrub in progress for 0h0m, 12.34% done, 0h1m to go'))).toEqual({
      state: 'in_progress',
      finishedAt: null,
      errors: null,
    });
    expect(parseScrubStatus(status(' scrub: scrub completed after 0h0m with 0 errors on Fri Dec  4 03:55:57 2026'))).toEqual({
      state: 'finished',
      finishedAt: local(2026, 11, 4, 3, 55, 57),
      errors: 0,
    });
    expect(parseScrubStatus(status(' scrub: scrub stopped after 0h1m with 2 errors on Sat Jan 10 12:00:00 2026'))).toEqual({
      state: 'canceled',
      finishedAt: local(2026, 0, 10, 12, 0, 0),
      errors: 2,
    });
  });

  it('reads OpenZFS lines', () => {
    expect(parseScrubStatus(status('  scan: scrub repaired 0B in 00:00:01 with 3 errors on Sun Dec 13 00:24:02 2020'))).toEqual({
      state: 'finished',
      finishedAt: local(2020, 11, 13, 0, 24, 2),
      errors: 3,
    });
    expect(parseScrubStatus(status('  scan: scrub in progress since Sun Dec 13 00:24:02 2020'))).toMatchObject({ state: 'in_progress' });
    expect(parseScrubStatus(status('  scan: scrub canceled on Sun Dec 13 00:24:02 2020'))).toEqual({
      state: 'canceled',
      finishedAt: local(2020, 11, 13, 0, 24, 2),
      errors: null,
    });
    expect(parseScrubStatus(status('  scan: resilvered 1.2M in 00:00:01 with 0 errors on Sun Dec 13 00:24:02 2020'))).toMatchObject({
      state: 'none',
    });
    expect(parseScrubStatus('garbage')).toMatchObject({ state: 'none' });
  });

  it('refuses dates it cannot read', () => {
    expect(parseZpoolTime('Fri Xyz  4 03:55:57 2026')).toBeNull();
    expect(parseZpoolTime('yesterday')).toBeNull();
  });

  it('makes a scrub due after the interval, never while one runs', () => {
    const now = new Date('2026-12-04T00:00:00Z');
    expect(isScrubDue({ state: 'none', finishedAt: null, errors: null }, now, 30)).toBe(true);
    expect(isScrubDue({ state: 'in_progress', finishedAt: null, errors: null }, now, 30)).toBe(false);
    expect(isScrubDue({ state: 'finished', finishedAt: '2026-11-05T00:00:00.000Z', errors: 0 }, now, 30)).toBe(false);
    expect(isScrubDue({ state: 'finished', finishedAt: '2026-11-04T00:00:00.000Z', errors: 0 }, now, 30)).toBe(true);
  });
});
