import { describe, expect, it } from 'vitest';
import { AlertRuleDefinitionSchema, CreateAlertRuleSchema, SCANNER_CHECKS, SCANNER_CHECK_UNITS } from './alerts.js';
import { CommandRequestSchema } from './commands.js';
import { ScannerFeedScheduleSchema, ScannerReportSummaryParamsSchema, ScannerReportSummarySchema } from './scanner-actions.js';

const issues = (r: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) =>
  r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('scanner rule params', () => {
  const rule = (params: unknown) =>
    CreateAlertRuleSchema.safeParse({
      key: 'nvt-site',
      name: 'NVT',
      kind: 'scanner',
      params,
      severity: 'warning',
      scope: { kind: 'global' },
    });

  it('takes a threshold in the check’s unit and none for yes/no checks', () => {
    expect(rule({ check: 'nvt_feed_age', threshold: 72 }).success).toBe(true);
    expect(rule({ check: 'scanner_down' }).success).toBe(true);
    for (const check of SCANNER_CHECKS) {
      const params = SCANNER_CHECK_UNITS[check] === null ? { check } : { check, threshold: 50 };
      expect(AlertRuleDefinitionSchema.safeParse({ kind: 'scanner', params }).success, check).toBe(true);
    }
  });

  it('names what is wrong', () => {
    expect(issues(rule({ check: 'scanner_down', threshold: 3 }))).toEqual([
      'params.threshold: scanner_down is a yes/no check: it takes no threshold',
    ]);
    expect(issues(rule({ check: 'task_requested' }))).toEqual(['params.threshold: task_requested needs a threshold in minutes']);
    expect(issues(rule({ check: 'redis_memory', threshold: 120 }))).toEqual(['params.threshold: a percentage above 0 and at most 100']);
    expect(issues(rule({ check: 'feed_age', threshold: 3 }))[0]).toMatch(/^params\.check: /);
    expect(issues(rule({ check: 'nvt_feed_age', threshold: Number.POSITIVE_INFINITY }))[0]).toMatch(/^params\.threshold: /);
    expect(issues(rule({ check: 'nvt_feed_age', threshold: 72, extra: 1 }))[0]).toMatch(/^params: /);
  });
});

describe('scanner commands', () => {
  it('restarts only gvmd or ospd-openvas, and takes no report summary from the command routes', () => {
    expect(CommandRequestSchema.safeParse({ action: 'scanner.restart', params: { service: 'gvmd' } }).success).toBe(true);
    expect(CommandRequestSchema.safeParse({ action: 'scanner.restart', params: { service: 'redis-server' } }).success).toBe(false);
    expect(CommandRequestSchema.safeParse({ action: 'scanner.feed-update', params: {} }).data).toEqual({
      action: 'scanner.feed-update',
      params: { pruneOldImages: true },
    });
    const summary = { action: 'scanner.report-summary', params: { reportId: '7b0b2c1e-5a43-4d38-9a56-0a5f3c1e2d11' } };
    expect(CommandRequestSchema.safeParse(summary).success).toBe(false);
  });

  it('bounds a report summary request and its answer', () => {
    expect(ScannerReportSummaryParamsSchema.parse({ reportId: '7b0b2c1e-5a43-4d38-9a56-0a5f3c1e2d11' }).maxFindings).toBe(20);
    expect(ScannerReportSummaryParamsSchema.safeParse({ reportId: 'x; rm -rf /' }).success).toBe(false);
    expect(ScannerReportSummaryParamsSchema.safeParse({ reportId: '7b0b2c1e-5a43-4d38-9a56-0a5f3c1e2d11', maxFindings: 51 }).success).toBe(
      false,
    );
    const answer = {
      reportId: '7b0b2c1e-5a43-4d38-9a56-0a5f3c1e2d11',
      taskName: 'Weekly',
      scanStartedAt: null,
      scanEndedAt: null,
      counts: null,
      hostCount: 3,
      topFindings: [{ nvtOid: '1.3.6.1.4.1.25623.1.0.1', name: 'Finding', severity: 7.5, hosts: 2 }],
    };
    expect(ScannerReportSummarySchema.safeParse(answer).success).toBe(true);
    // A host address has no place in a summary: strict objects refuse it.
    expect(
      ScannerReportSummarySchema.safeParse({ ...answer, topFindings: [{ ...answer.topFindings[0], host: '192.0.2.1' }] }).success,
    ).toBe(false);
  });
});

describe('feed update schedule', () => {
  const base = { enabled: true, weekdays: [1, 4], hourUtc: 3, jitterMinutes: 60 };
  it('defaults to pruning old images and refuses impossible times', () => {
    expect(ScannerFeedScheduleSchema.parse(base).pruneOldImages).toBe(true);
    expect(issues(ScannerFeedScheduleSchema.safeParse({ ...base, weekdays: [1, 1] }))).toEqual(['weekdays: each weekday once']);
    expect(issues(ScannerFeedScheduleSchema.safeParse({ ...base, weekdays: [7] }))[0]).toMatch(/^weekdays\.0: /);
    expect(issues(ScannerFeedScheduleSchema.safeParse({ ...base, weekdays: [] }))).toEqual(['weekdays: name at least one weekday']);
    expect(issues(ScannerFeedScheduleSchema.safeParse({ ...base, hourUtc: 24 }))[0]).toMatch(/^hourUtc: /);
    expect(issues(ScannerFeedScheduleSchema.safeParse({ ...base, jitterMinutes: 500 }))[0]).toMatch(/^jitterMinutes: /);
  });
});
