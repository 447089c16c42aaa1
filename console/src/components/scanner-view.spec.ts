import { describe, expect, it } from 'vitest';
import {
  ageText,
  containerLevel,
  dockerDataLevel,
  feedAgeLevel,
  feedVersionOf,
  redisMemoryLevel,
  scanDuration,
  scannerFilterOf,
  scannerTimeline,
  taskStateLevel,
} from './scanner-view';

const now = Date.parse('2026-12-04T12:00:00Z');
const hoursAgo = (h: number) => new Date(now - h * 3_600_000).toISOString();

describe('scanner view', () => {
  it('colours feed ages by the type’s thresholds (NVT 3 / 7 days, SCAP and CERT 7 / 14)', () => {
    expect(feedAgeLevel('NVT', hoursAgo(71), now)).toBe('ok');
    expect(feedAgeLevel('NVT', hoursAgo(72), now)).toBe('warning');
    expect(feedAgeLevel('nvt', hoursAgo(240), now)).toBe('critical');
    expect(feedAgeLevel('SCAP', hoursAgo(100), now)).toBe('ok');
    expect(feedAgeLevel('CERT', hoursAgo(200), now)).toBe('warning');
    expect(feedAgeLevel('CERT', hoursAgo(400), now)).toBe('critical');
    // No time (an unreadable version) or no thresholds for the type: not judged.
    expect(feedAgeLevel('NVT', null, now)).toBe('unknown');
    expect(feedAgeLevel('NVT', 'garbage', now)).toBe('unknown');
    expect(feedAgeLevel('GVMD_DATA', hoursAgo(1000), now)).toBe('unknown');
    // A version from the future (a device clock ahead) counts as new.
    expect(feedAgeLevel('NVT', hoursAgo(-5), now)).toBe('ok');
  });

  it('writes ages, durations and feed versions', () => {
    expect([ageText(null), ageText(0.5), ageText(5), ageText(47.9), ageText(240)]).toEqual(['—', '30 m', '5 h', '47 h', '10 d']);
    expect(feedVersionOf(new Date('2026-11-24T09:05:00Z'))).toBe('202611240905');
  });

  it('judges containers, the disk and Redis', () => {
    expect(['running', 'restarting', 'exited', 'dead', 'missing'].map(containerLevel)).toEqual([
      'ok',
      'warning',
      'critical',
      'critical',
      'critical',
    ]);
    expect([null, 79.9, 80, 90].map(dockerDataLevel)).toEqual(['unknown', 'ok', 'warning', 'critical']);
    expect([undefined, 12.5, 50, 75].map(redisMemoryLevel)).toEqual(['unknown', 'ok', 'warning', 'critical']);
  });

  it('compares a running scan with the average duration', () => {
    expect(scanDuration({ currentScanStartedAt: null, averageDurationSeconds: 3600 }, now)).toBeNull();
    expect(scanDuration({ currentScanStartedAt: hoursAgo(0.5), averageDurationSeconds: 3600 }, now)).toEqual({
      seconds: 1800,
      average: 3600,
      over: false,
    });
    expect(scanDuration({ currentScanStartedAt: hoursAgo(2), averageDurationSeconds: 3600 }, now)?.over).toBe(true);
    expect(scanDuration({ currentScanStartedAt: hoursAgo(2), averageDurationSeconds: null }, now)?.over).toBe(false);
  });

  it('judges how long a task waits or hangs like the built-in rules', () => {
    const state = (status: string, sinceHours: number, movedHours = sinceHours) => ({
      status,
      statusSince: hoursAgo(sinceHours),
      progressChangedAt: hoursAgo(movedHours),
    });
    expect(taskStateLevel(state('Requested', 10 / 60), now)).toBe('ok');
    expect(taskStateLevel(state('Requested', 40 / 60), now)).toBe('warning');
    expect(taskStateLevel(state('Requested', 1), now)).toBe('critical');
    expect(taskStateLevel(state('Running', 5, 1), now)).toBe('ok');
    expect(taskStateLevel(state('Running', 5, 2), now)).toBe('warning');
    expect(taskStateLevel(state('Done', 500), now)).toBe('unknown');
  });

  it('reads the URL filter', () => {
    expect(scannerFilterOf('stale_feeds')).toBe('stale_feeds');
    expect(scannerFilterOf('everything')).toBeUndefined();
    expect(scannerFilterOf(null)).toBeUndefined();
  });

  it('merges feed versions and alerts into one newest-first timeline', () => {
    const timeline = scannerTimeline(
      [
        { feedType: 'NVT', version: '202612040000', firstSeenAt: hoursAgo(1) },
        { feedType: 'NVT', version: '202612030000', firstSeenAt: hoursAgo(25) },
      ],
      [{ id: 'a1', title: 'NVT feed old', subject: 'NVT', severity: 'warning', openedAt: hoursAgo(10), resolvedAt: hoursAgo(0.5) }],
    );
    expect(timeline.map((e) => `${e.kind}:${e.text}`)).toEqual([
      'alert-resolved:NVT feed old (NVT)',
      'feed:NVT feed 202612040000',
      'alert-opened:NVT feed old (NVT)',
      'feed:NVT feed 202612030000',
    ]);
  });
});
