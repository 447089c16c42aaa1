import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScannerStatsSchema, type ScannerStats } from '@xspectre/contracts';
import { ScannerReportsService } from '../src/scanners/scanner-reports.service.js';
import type { TestApi } from './support/harness.js';
import { enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

/** A report as the agent's collector makes it (agent/src/gmp/collect.ts), checked against the contract. */
function report(overrides: Partial<ScannerStats> = {}): ScannerStats {
  return ScannerStatsSchema.parse({
    collectedAt: new Date(Date.now() - 5_000).toISOString(),
    gmp: { reachable: true, error: null, latencyMs: 12, version: '22.5', features: null },
    feeds: [
      { type: 'NVT', version: '202612030415', isSyncing: false, syncingSince: null, syncError: null },
      {
        type: 'SCAP',
        version: '202612020000',
        isSyncing: true,
        syncingSince: new Date(Date.now() - 600_000).toISOString(),
        syncError: null,
      },
    ],
    feedOwnerSet: true,
    scanners: [{ id: '08b69003-5fc2-4037-a479-93b440211c73', name: 'OpenVAS Default', type: '2', reachable: true, version: 'OTP/2.0' }],
    tasks: [
      {
        id: 't-1',
        name: 'Weekly DMZ',
        status: 'Running',
        progress: 40,
        currentScanStartedAt: null,
        averageDurationSeconds: 3600,
        nextRunAt: null,
        lastReport: null,
      },
      {
        id: 't-2',
        name: 'Nightly LAN',
        status: 'Requested',
        progress: null,
        currentScanStartedAt: null,
        averageDurationSeconds: null,
        nextRunAt: null,
        lastReport: null,
      },
      {
        id: 't-3',
        name: 'Done one',
        status: 'Done',
        progress: null,
        currentScanStartedAt: null,
        averageDurationSeconds: 1800,
        nextRunAt: null,
        lastReport: {
          id: 'r-1',
          scanStartedAt: null,
          scanEndedAt: null,
          counts: { critical: null, high: 2, medium: 5, low: 1, log: 30, falsePositive: 0 },
          errorCount: 0,
        },
      },
    ],
    tasksTruncated: false,
    totals: { tasks: 3, targets: 4, credentials: 1, reports: 10 },
    ...overrides,
  });
}

describe('scanner reports (GMP stats in heartbeats)', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let scanner: { deviceId: string; credential: string };
  let sequence = 1;

  const send = (stats: unknown) =>
    api.request('POST', 'agent/heartbeats', {
      token: scanner.credential,
      body: { heartbeats: [{ ...testHeartbeat(scanner.deviceId, sequence++), scannerStats: stats }] },
    });
  /** Stored after the heartbeat's commit, off the request path: wait for it. */
  const snapshot = async (until: (body: Record<string, any>) => boolean) => {
    for (let i = 0; i < 100; i++) {
      const r = await api.request('GET', `devices/${scanner.deviceId}/scanner`, { token: admin });
      if (r.status === 200 && until(r.body)) return r.body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the scanner report did not arrive');
  };

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
    scanner = await enrollTestDevice(api, admin, { organization: 'Scanner Co', device: 'scanner-1' });
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('has no report before the first one', async () => {
    const none = await api.request('GET', `devices/${scanner.deviceId}/scanner`, { token: admin });
    expect([none.status, none.body.code]).toEqual([404, 'SCANNER_REPORT_NOT_FOUND']);
  });

  it("stores the newest report and lists it as the fleet's row, with feed times and task counts", async () => {
    const sent = report();
    expect((await send(sent)).status).toBe(200);
    const body = await snapshot(() => true);
    expect(body.stats).toEqual(sent);
    expect(body.stale).toBe(false);
    expect(body.feedTimes).toEqual({ NVT: '2026-12-03T04:15:00.000Z', SCAP: '2026-12-02T00:00:00.000Z' });

    const readOnly = await api.tokenFor((await api.createUser(admin, 'read_only')).email);
    const list = await api.request('GET', 'scanners', { token: readOnly });
    expect(list.status, list.text).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        deviceId: scanner.deviceId,
        deviceName: 'scanner-1',
        gmpReachable: true,
        nvtFeedVersion: '202612030415',
        nvtFeedAt: '2026-12-03T04:15:00.000Z',
        feedsSyncing: true,
        tasksRunning: 1,
        tasksQueued: 1,
        stale: false,
      }),
    ]);
  });

  it('never rolls back to an older report, and takes the arrival time for one from the future', async () => {
    const future = report({
      collectedAt: new Date(Date.now() + 86_400_000).toISOString(),
      totals: { tasks: 7, targets: 1, credentials: 1, reports: 1 },
    });
    expect((await send(future)).status).toBe(200);
    const body = await snapshot((b) => b.stats.totals.tasks === 7);
    expect(new Date(body.collectedAt).getTime()).toBeLessThanOrEqual(Date.now());
    // A replayed, hour-old report (observed directly, so the check does not race the after-commit write).
    const older = report({
      collectedAt: new Date(Date.now() - 3_600_000).toISOString(),
      totals: { tasks: 99, targets: 0, credentials: 0, reports: 0 },
    });
    await api.app
      .get(ScannerReportsService, { strict: false })
      .observe(new Map([[scanner.deviceId, { ...testHeartbeat(scanner.deviceId, 999), scannerStats: older }]]), new Date());
    const after = await api.sql.query(`SELECT stats -> 'totals' ->> 'tasks' AS tasks FROM scanner_snapshots WHERE device_id = $1`, [
      scanner.deviceId,
    ]);
    expect(after.rows[0].tasks).toBe('7');
  });

  it('marks a report older than two polls as stale and filters by it', async () => {
    await api.sql.query(`UPDATE scanner_snapshots SET collected_at = now() - interval '30 minutes' WHERE device_id = $1`, [
      scanner.deviceId,
    ]);
    expect((await api.request('GET', `devices/${scanner.deviceId}/scanner`, { token: admin })).body.stale).toBe(true);
    expect(
      (await api.request('GET', 'scanners?stale=true', { token: admin })).body.items.map((r: { deviceId: string }) => r.deviceId),
    ).toEqual([scanner.deviceId]);
    expect((await api.request('GET', 'scanners?stale=false', { token: admin })).body.items).toEqual([]);
    expect((await api.request('GET', 'scanners?stale=maybe', { token: admin })).status).toBe(400);
  });

  it('refuses reports that break the contract (and the heartbeat with them), naming the field', async () => {
    const base = report();
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, tasks: Array.from({ length: 201 }, () => base.tasks[0]) }, /scannerStats\.tasks/],
      [{ ...base, tasks: [{ ...base.tasks[0], host: '192.0.2.77' }] }, /scannerStats\.tasks\.0/],
      [{ ...base, gmp: { ...base.gmp, latencyMs: -1 } }, /scannerStats\.gmp\.latencyMs/],
      [{ ...base, feeds: [{ ...base.feeds[0], version: 'x'.repeat(65) }] }, /scannerStats\.feeds\.0\.version/],
      [{ ...base, results: [] }, /scannerStats/],
    ];
    for (const [stats, field] of cases) {
      const refused = await send(stats);
      expect(refused.status).toBe(400);
      expect(refused.body.detail).toMatch(field);
    }
  });

  it("keeps each task's status since when and its progress since when across reports, counts per report once, feed versions as they came", async () => {
    const other = await enrollTestDevice(api, admin, { organization: 'Scanner History Co', device: 'scanner-2' });
    const service = api.app.get(ScannerReportsService, { strict: false });
    const t0 = Date.now() + 3_600_000;
    const at = (minutes: number) => new Date(t0 + minutes * 60_000);
    const base = report();
    const task = (id: string, status: string, progress: number | null, lastReport: ScannerStats['tasks'][number]['lastReport'] = null) => ({
      ...base.tasks[0]!,
      id,
      status,
      progress,
      lastReport,
    });
    const observe = (minutes: number, stats: Partial<ScannerStats>) =>
      service.observe(
        new Map([
          [
            other.deviceId,
            { ...testHeartbeat(other.deviceId, 1), scannerStats: report({ ...stats, collectedAt: at(minutes).toISOString() }) },
          ],
        ]),
        at(minutes),
      );
    const done = {
      id: 'r-9',
      scanStartedAt: null,
      scanEndedAt: at(0).toISOString(),
      counts: base.tasks[2]!.lastReport!.counts,
      errorCount: null,
    };
    const nvt = (version: string) => [{ ...base.feeds[0]!, version }];

    await observe(0, {
      tasks: [task('a', 'Running', 40), task('b', 'Requested', null), task('c', 'Done', null, done)],
      feeds: nvt('202612010000'),
    });
    await observe(10, {
      tasks: [task('a', 'Running', 40), task('b', 'Requested', null), task('c', 'Done', null, { ...done, errorCount: 3 })],
      feeds: nvt('202612010000'),
    });
    // The same task twice in one list (a device's list is not trusted): stored once, no error.
    await observe(20, { tasks: [task('a', 'Running', 55), task('b', 'Running', 1), task('b', 'Running', 1)], feeds: nvt('202612020000') });

    const states = await api.sql.query(
      `SELECT task_id, status, status_since, progress, progress_changed_at FROM scanner_task_states WHERE device_id = $1 ORDER BY task_id`,
      [other.deviceId],
    );
    expect(
      states.rows.map((r) => [r.task_id, r.status, r.status_since.toISOString(), r.progress, r.progress_changed_at.toISOString()]),
    ).toEqual([
      // Running since the first report; its progress moved at the third.
      ['a', 'Running', at(0).toISOString(), 55, at(20).toISOString()],
      // Requested for 20 minutes, then running.
      ['b', 'Running', at(20).toISOString(), 1, at(20).toISOString()],
      // c is gone from a complete list.
    ]);
    const counts = await api.sql.query(`SELECT report_id, error_count FROM scanner_report_counts WHERE device_id = $1`, [other.deviceId]);
    expect(counts.rows).toEqual([{ report_id: 'r-9', error_count: 3 }]);
    const feeds = await api.sql.query(
      `SELECT version, first_seen_at FROM scanner_feed_versions WHERE device_id = $1 ORDER BY first_seen_at`,
      [other.deviceId],
    );
    expect(feeds.rows.map((r) => [r.version, r.first_seen_at.toISOString()])).toEqual([
      ['202612010000', at(0).toISOString()],
      ['202612020000', at(20).toISOString()],
    ]);

    // A truncated list drops no task it does not name; an older report changes nothing.
    await observe(30, { tasks: [task('a', 'Running', 60)], tasksTruncated: true, feeds: nvt('202612020000') });
    await observe(5, { tasks: [task('z', 'Requested', null)], feeds: nvt('202611010000') });
    const view = await api.request('GET', `devices/${other.deviceId}/scanner`, { token: admin });
    expect(view.body.taskStates.map((t: { taskId: string; status: string }) => `${t.taskId}:${t.status}`)).toEqual([
      'a:Running',
      'b:Running',
    ]);
    expect(view.body.feedVersions.map((f: { version: string }) => f.version)).toEqual(['202612020000', '202612010000']);
  });
});
