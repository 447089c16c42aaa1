import { describe, expect, it } from 'vitest';
import { makeFixture } from '../../test/gvmd-standin/fixture.js';
import { GVMD_PROFILES } from '../../test/gvmd-standin/profiles.js';
import {
  featuresAnswer,
  feedsAnswer,
  reportsAnswer,
  scannersAnswer,
  tasksAnswer,
  versionAnswer,
} from '../../test/gvmd-standin/responses.js';
import {
  clip,
  isoTime,
  readFeatures,
  readFeeds,
  readGmpVersion,
  readReportErrorCount,
  readScanners,
  readSeverityCounts,
  readTasks,
  readTotal,
} from './readers.js';
import { nextScheduledRun } from './schedule.js';
import { parseGmpXml } from './xml.js';

const NOW = new Date('2026-12-04T04:00:00Z');
const root = (xml: string) => parseGmpXml(xml).root;

describe('readers across gvmd versions', () => {
  const fixture = makeFixture(5);

  for (const profile of Object.values(GVMD_PROFILES)) {
    describe(`gvmd ${profile.gvmdVersion} (GMP ${profile.gmpVersion})`, () => {
      const tasks = readTasks(root(tasksAnswer(fixture, profile, 'first=1 rows=10')), NOW);

      it('reads the GMP version as sent', () => {
        expect(readGmpVersion(root(versionAnswer(profile)))).toBe(profile.gmpVersion);
      });

      it('reads last-report counts by presence, new names first, never added to the old ones', () => {
        expect(tasks[0]!.lastReport!.counts).toEqual({
          critical: profile.hasCritical ? 1 : null,
          high: 3,
          medium: 7,
          low: 2,
          log: 40,
          falsePositive: 0,
        });
      });

      it('reads states, times, schedule and totals', () => {
        expect(tasks.map((t) => t.name)).toEqual(fixture.tasks.map((t) => t.name));
        expect(tasks[0]).toMatchObject({
          status: 'Done',
          progress: null,
          averageDurationSeconds: 4360,
          nextRunAt: '2026-12-06T02:00:00.000Z', // weekly from Sunday 2026-11-01 02:00 UTC
          lastReport: { scanStartedAt: '2026-11-30T02:00:04.000Z', scanEndedAt: '2026-11-30T02:12:44.000Z', errorCount: null },
        });
        expect(tasks[1]).toMatchObject({ status: 'Running', progress: 42, currentScanStartedAt: '2026-12-04T03:30:00.000Z' });
        expect(tasks[2]).toMatchObject({ status: 'New', lastReport: null, averageDurationSeconds: null, nextRunAt: null });
        expect(tasks[3]!.lastReport!.counts).toBeNull(); // an audit: compliance counts, no severities
        expect(readTotal(root(tasksAnswer(fixture, profile, 'first=1 rows=2')), 'task')).toBe(5);
      });

      it('reads features where the version has them', () => {
        const answer = featuresAnswer(profile);
        if (answer === null) return expect(profile.features).toBe('none');
        const features = readFeatures(root(answer));
        expect(features.length).toBeGreaterThan(0);
        expect(features.every((f) => typeof f.enabled === 'boolean')).toBe(true);
      });
    });
  }

  it('reads the new names alone (a build without deprecated fields) and the old ones alone', () => {
    const onlyNew = root(
      '<r><result_count><high>5</high><medium>4</medium><low>3</low><log>2</log><false_positive>1</false_positive></result_count></r>',
    );
    expect(readSeverityCounts(onlyNew.result_count as never)).toEqual({
      critical: null,
      high: 5,
      medium: 4,
      low: 3,
      log: 2,
      falsePositive: 1,
    });
    const onlyOld = root('<r><result_count><hole>5</hole><warning>4</warning><info>3</info><log>2</log></result_count></r>');
    expect(readSeverityCounts(onlyOld.result_count as never)).toEqual({
      critical: null,
      high: 5,
      medium: 4,
      low: 3,
      log: 2,
      falsePositive: 0,
    });
    // get_reports nests full/filtered counts.
    const nested = root(
      '<r><result_count><critical><full>9</full><filtered>1</filtered></critical><high><full>8</full></high></result_count></r>',
    );
    expect(readSeverityCounts(nested.result_count as never)).toMatchObject({ critical: 9, high: 8, medium: 0 });
  });

  it('reads feeds: versions, owner, a sync in progress and a scanner that cannot be reached', () => {
    const normal = readFeeds(root(feedsAnswer(fixture, { syncing: false, scannerDown: false })));
    expect(normal.feedOwnerSet).toBe(true);
    expect(normal.feeds.map((f) => [f.type, f.version, f.isSyncing])).toEqual([
      ['NVT', '202612030705', false],
      ['SCAP', '202612030215', false],
      ['CERT', '202612030430', false],
      ['GVMD_DATA', '202612011011', false],
    ]);
    const syncing = readFeeds(root(feedsAnswer(fixture, { syncing: true, scannerDown: false }))).feeds;
    expect(syncing[0]).toMatchObject({ type: 'NVT', isSyncing: true, syncingSince: null });
    expect(syncing[1]).toMatchObject({ type: 'SCAP', isSyncing: true, syncingSince: '2026-12-04T03:55:10.000Z' });
    const down = readFeeds(root(feedsAnswer(fixture, { syncing: false, scannerDown: true }))).feeds[0];
    expect(down).toEqual({
      type: 'NVT',
      version: null,
      isSyncing: false,
      syncingSince: null,
      syncError: 'Could not connect to scanner to get feed info',
    });
  });

  it('reads scanners without their hosts or ports, and a report error count', () => {
    const scanners = readScanners(root(scannersAnswer(fixture)));
    expect(scanners).toHaveLength(3);
    expect(JSON.stringify(scanners)).not.toMatch(/198\.51\.100\.23|9390|ospd/);
    const reportId = fixture.tasks[0]!.lastReport!.id;
    expect(readReportErrorCount(root(reportsAnswer(fixture, reportId)!))).toBe(2);
    expect(readTotal(root(reportsAnswer(fixture, undefined)!), 'report')).toBe(4);
  });

  it('normalises times and text for the contract', () => {
    expect(isoTime('2026-11-30T03:12:44+01:00')).toBe('2026-11-30T02:12:44.000Z');
    expect(isoTime('2026-11-30T03:12:44+0100')).toBe('2026-11-30T02:12:44.000Z');
    expect(isoTime('2026-11-30T03:12:44')).toBe('2026-11-30T03:12:44.000Z');
    for (const bad of ['', 'Mon Nov 30 2026', '2026-13-45T99:00:00Z', undefined]) expect(isoTime(bad), String(bad)).toBeNull();
    expect(clip(' a\u0007\n b ', 10)).toBe('a b');
    expect(clip('ab🛰', 3)).toBe('ab'); // never half a surrogate pair
    expect(clip('   ', 3)).toBeNull();
  });
});

describe('nextScheduledRun', () => {
  const ical = (...lines: string[]) => ['BEGIN:VCALENDAR', 'BEGIN:VEVENT', ...lines, 'END:VEVENT', 'END:VCALENDAR'].join('\r\n');
  it('computes once, hourly, daily and weekly UTC schedules', () => {
    expect(nextScheduledRun(ical('DTSTART:20261210T080000Z'), NOW)).toBe('2026-12-10T08:00:00.000Z');
    expect(nextScheduledRun(ical('DTSTART:20261201T080000Z'), NOW)).toBeNull();
    expect(nextScheduledRun(ical('DTSTART:20261201T083000Z', 'RRULE:FREQ=HOURLY;INTERVAL=6'), NOW)).toBe('2026-12-04T08:30:00.000Z');
    expect(nextScheduledRun(ical('DTSTART:20261201T020000Z', 'RRULE:FREQ=DAILY'), NOW)).toBe('2026-12-05T02:00:00.000Z');
    expect(nextScheduledRun(ical('DTSTART:20261201T020000Z', 'RRULE:FREQ=DAILY;COUNT=3'), NOW)).toBeNull();
    expect(nextScheduledRun(ical('DTSTART:20261201T020000Z', 'RRULE:FREQ=DAILY;UNTIL=20261204T000000Z'), NOW)).toBeNull();
  });
  it('gives null rather than a guess for rules it cannot compute exactly', () => {
    expect(nextScheduledRun(ical('DTSTART;TZID=Europe/Berlin:20261201T020000', 'RRULE:FREQ=DAILY'), NOW)).toBeNull();
    expect(nextScheduledRun(ical('DTSTART:20261201T020000Z', 'RRULE:FREQ=WEEKLY;BYDAY=MO,WE'), NOW)).toBeNull();
    expect(nextScheduledRun(ical('DTSTART:20261201T020000Z', 'RRULE:FREQ=MONTHLY'), NOW)).toBeNull();
    expect(nextScheduledRun('', NOW)).toBeNull();
  });
});
