import { describe, expect, it } from 'vitest';
import { ScannerStatsSchema, type ScannerStats, type ScannerTask } from './scanner-stats.js';

const task = (n: number): ScannerTask => ({
  id: `7a5c0b1e-0000-4000-8000-${String(n).padStart(12, '0')}`,
  name: `Weekly scan ${n}`,
  status: 'Done',
  progress: null,
  currentScanStartedAt: null,
  averageDurationSeconds: 4360,
  nextRunAt: '2026-12-06T02:00:00.000Z',
  lastReport: {
    id: '4e1f9d2a-0000-4000-8000-000000000001',
    scanStartedAt: '2026-11-30T02:00:04.000Z',
    scanEndedAt: null,
    counts: { critical: null, high: 3, medium: 7, low: 2, log: 40, falsePositive: 0 },
    errorCount: 2,
  },
});

const valid = (): ScannerStats => ({
  collectedAt: '2026-12-04T04:00:00.000Z',
  gmp: { reachable: true, error: null, latencyMs: 3, version: '22.5', features: [{ name: 'OPENVASD', enabled: false }] },
  feeds: [{ type: 'NVT', version: '202612030705', isSyncing: false, syncingSince: null, syncError: null }],
  feedOwnerSet: true,
  scanners: [{ id: '08b69003-5fc2-4037-a479-93b440211c73', name: 'OpenVAS Default', type: '2', reachable: true, version: 'OTP/2.0' }],
  tasks: [task(1)],
  tasksTruncated: false,
  totals: { tasks: 1, targets: 12, credentials: 4, reports: 4 },
});

describe('ScannerStatsSchema', () => {
  it('accepts a full report and a failed session', () => {
    expect(ScannerStatsSchema.parse(valid())).toEqual(valid());
    const failed = {
      ...valid(),
      gmp: {
        reachable: false,
        error: { code: 'socket_missing', message: 'no gvmd socket' },
        latencyMs: null,
        version: null,
        features: null,
      },
      feeds: [],
      scanners: [],
      tasks: [],
      totals: { tasks: null, targets: null, credentials: null, reports: null },
    };
    expect(ScannerStatsSchema.safeParse(failed).success).toBe(true);
  });

  it('refuses fields it does not name (no host, port or result can ride along)', () => {
    const withHost = valid() as unknown as { scanners: Array<Record<string, unknown>>; tasks: Array<Record<string, unknown>> };
    withHost.scanners[0]!.host = '192.0.2.77';
    expect(ScannerStatsSchema.safeParse(withHost).success).toBe(false);
    const withResults = valid() as unknown as { tasks: Array<{ lastReport: Record<string, unknown> }> };
    withResults.tasks[0]!.lastReport.results = [{ host: '192.0.2.77', port: '8443/tcp' }];
    expect(ScannerStatsSchema.safeParse(withResults).success).toBe(false);
  });

  it('bounds tasks, counts, text and times', () => {
    const cases: Array<(s: ScannerStats) => void> = [
      (s) => (s.tasks = Array.from({ length: 201 }, (_, i) => task(i))),
      (s) => (s.tasks[0]!.lastReport!.counts!.high = -1),
      (s) => (s.tasks[0]!.lastReport!.counts!.high = 1.5),
      (s) => (s.totals.targets = Number.POSITIVE_INFINITY),
      (s) => (s.tasks[0]!.progress = 101),
      (s) => (s.tasks[0]!.name = 'x'.repeat(201)),
      (s) => (s.tasks[0]!.name = 'tab\there'),
      (s) => (s.tasks[0]!.nextRunAt = 'next Sunday'),
      (s) => (s.gmp.error = { code: 'oops' as never, message: 'x' }),
    ];
    for (const [i, change] of cases.entries()) {
      const stats = valid();
      change(stats);
      expect(ScannerStatsSchema.safeParse(stats).success, `case ${i}`).toBe(false);
    }
    const many = valid();
    many.tasks = Array.from({ length: 200 }, (_, i) => task(i));
    expect(ScannerStatsSchema.safeParse(many).success).toBe(true);
  });
});
