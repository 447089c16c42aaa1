import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScannerStatsSchema, type ScannerStats } from '@xspectre/contracts';
import { AlertEvaluator } from '../src/alerts/alert-evaluator.js';
import { ScannerReportsService } from '../src/scanners/scanner-reports.service.js';
import type { TestApi } from './support/harness.js';
import { enrollTestDevice, startApiWithLabHub, testHeartbeat, type LabHub } from './support/fleet.js';

const MINUTE = 60_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
/** A feed version (YYYYMMDDhhmm) this many hours old. */
const feedVersion = (hours: number) => {
  const d = new Date(Date.now() - hours * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
};
const core = (service: string, extra: Record<string, unknown> = {}) => ({
  service,
  container: `greenbone-community-edition-${service}-1`,
  image: `registry.community.greenbone.net/community/${service}:22.4.1`,
  state: 'running',
  restartCount: 0,
  startedAt: ago(3 * 86_400_000),
  lastOomKillAt: null,
  memoryBytes: service === 'redis-server' ? 500e6 : null,
  ...extra,
});
type Task = ScannerStats['tasks'][number];
const task = (id: string, name: string, status: string, extra: Partial<Task> = {}): Task => ({
  id,
  name,
  status,
  progress: status === 'Running' ? 30 : null,
  currentScanStartedAt: null,
  averageDurationSeconds: 1800,
  nextRunAt: null,
  lastReport: {
    id: `r-${id}`,
    scanStartedAt: ago(3 * 3_600_000),
    scanEndedAt: ago(2 * 3_600_000),
    counts: { critical: null, high: 1, medium: 2, low: 3, log: 4, falsePositive: 0 },
    errorCount: 0,
  },
  ...extra,
});

/** A healthy scanner's report (every built-in scanner rule clear), as the agent's collector makes it. */
function healthy(overrides: Partial<ScannerStats> = {}): ScannerStats {
  return ScannerStatsSchema.parse({
    collectedAt: ago(5_000),
    gmp: { reachable: true, error: null, latencyMs: 12, version: '22.5', features: null },
    feeds: [
      { type: 'NVT', version: feedVersion(12), isSyncing: false, syncingSince: null, syncError: null },
      { type: 'SCAP', version: feedVersion(30), isSyncing: false, syncingSince: null, syncError: null },
      { type: 'CERT', version: feedVersion(30), isSyncing: false, syncingSince: null, syncError: null },
    ],
    feedOwnerSet: true,
    scanners: [{ id: '08b69003-5fc2-4037-a479-93b440211c73', name: 'OpenVAS Default', type: '2', reachable: true, version: 'OTP/2.0' }],
    tasks: [task('t-1', 'Weekly DMZ', 'Done')],
    tasksTruncated: false,
    totals: { tasks: 1, targets: 1, credentials: 0, reports: 1 },
    account: 'monitor',
    coreContainers: ['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm'].map((s) => core(s)),
    dockerData: { path: '/var/lib/docker', usedBytes: 40e9, totalBytes: 100e9 },
    hostMemoryBytes: 8e9,
    defaultAdminPassword: false,
    ...overrides,
  });
}
const gmpDown = (): Partial<ScannerStats> => ({
  gmp: { reachable: false, error: { code: 'timeout', message: 'gvmd did not answer' }, latencyMs: null, version: null, features: null },
  feeds: [],
  scanners: [],
  tasks: [],
  totals: { tasks: null, targets: null, credentials: null, reports: null },
});

/**
 * Scanner alert rules through the real parts: reports in heartbeats over the agent route, stored
 * after the commit (api/src/scanners), the evaluation job with the built-in scanner rules, and
 * the alert rule routes.
 */
describe('scanner alerts', () => {
  let hub: LabHub;
  let api: TestApi;
  let admin: string;
  let seq = 0;
  let n = 0;

  type Scanner = { deviceId: string; credential: string };
  const scanner = async (): Promise<Scanner> =>
    enrollTestDevice(api, admin, { organization: `Scanner Alerts ${++n}`, device: `scanner-alerts-${n}` });
  /** A heartbeat carrying the report, then waits for it to be stored (after the commit, off the request path). */
  const send = async (s: Scanner, stats: ScannerStats) => {
    const r = await api.request('POST', 'agent/heartbeats', {
      token: s.credential,
      body: { heartbeats: [{ ...testHeartbeat(s.deviceId, ++seq), scannerStats: stats }] },
    });
    expect(r.status, r.text).toBe(200);
    for (let i = 0; i < 200; i++) {
      const row = await api.sql.query(`SELECT collected_at FROM scanner_snapshots WHERE device_id = $1`, [s.deviceId]);
      if (row.rows[0] && row.rows[0].collected_at.getTime() === new Date(stats.collectedAt).getTime()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the scanner report was not stored');
  };
  /** A report stored without a heartbeat (the device's last heartbeat stays as it was). */
  const observeOnly = (s: Scanner, stats: ScannerStats) =>
    api.app
      .get(ScannerReportsService, { strict: false })
      .observe(new Map([[s.deviceId, { ...testHeartbeat(s.deviceId, ++seq), scannerStats: stats }]]), new Date());
  const evaluate = () => api.app.get(AlertEvaluator).run(new Date());
  const alerts = async (s: Scanner) =>
    (
      await api.sql.query(
        `SELECT rule_key, severity, state, subject, title, details, resolve_note FROM alerts WHERE device_id = $1 AND kind = 'scanner' ORDER BY opened_at, rule_key`,
        [s.deviceId],
      )
    ).rows;
  const unresolved = async (s: Scanner) =>
    (await alerts(s)).filter((a) => a.state !== 'resolved').map((a) => `${a.rule_key}|${a.subject}|${a.severity}`);

  beforeAll(async () => {
    ({ api, hub } = await startApiWithLabHub());
    admin = await api.adminToken();
  });
  afterAll(async () => {
    await api?.stop();
    await hub?.stop();
  });

  it('ships the built-in scanner rules, global, each parsing as its check wants', async () => {
    const r = await api.request('GET', 'alert-rules', { token: admin });
    const scannerRules = r.body.items.filter((x: { kind: string }) => x.kind === 'scanner');
    expect(scannerRules).toHaveLength(26);
    expect(scannerRules.every((x: { builtIn: boolean; scope: { kind: string } }) => x.builtIn && x.scope.kind === 'global')).toBe(true);
    const byKey = Object.fromEntries(scannerRules.map((x: { key: string }) => [x.key, x]));
    expect(byKey['scanner-nvt-feed-warning']).toMatchObject({ severity: 'warning', params: { check: 'nvt_feed_age', threshold: 72 } });
    expect(byKey['scanner-nvt-feed-critical']).toMatchObject({ severity: 'critical', params: { check: 'nvt_feed_age', threshold: 168 } });
    expect(byKey['scanner-gmp-unreachable']).toMatchObject({ severity: 'critical', params: { check: 'gmp_unreachable', threshold: 3 } });
    expect(byKey['scanner-version-drift']).toMatchObject({ severity: 'info', params: { check: 'version_drift', threshold: 14 } });
  });

  it('a healthy scanner raises nothing', async () => {
    const s = await scanner();
    await send(s, healthy());
    await evaluate();
    expect(await alerts(s)).toEqual([]);
  });

  it('a stale NVT feed raises the warning, then the critical alert instead (never both), and clears', async () => {
    const s = await scanner();
    const nvt = (hours: number) => [{ type: 'NVT', version: feedVersion(hours), isSyncing: false, syncingSince: null, syncError: null }];
    await send(s, healthy({ feeds: nvt(100) }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-nvt-feed-warning|NVT|warning']);
    expect((await alerts(s))[0].title).toBe('NVT feed stale: NVT feed 4 d old');
    await send(s, healthy({ feeds: nvt(200) }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-nvt-feed-critical|NVT|critical']);
    await send(s, healthy());
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect((await alerts(s)).map((a) => [a.rule_key, a.state])).toEqual([
      ['scanner-nvt-feed-warning', 'resolved'],
      ['scanner-nvt-feed-critical', 'resolved'],
    ]);
  });

  it('a subject a report names twice is judged once, by its first entry', async () => {
    const s = await scanner();
    const nvt = (hours: number) => ({ type: 'NVT', version: feedVersion(hours), isSyncing: false, syncingSince: null, syncError: null });
    await send(s, healthy({ feeds: [nvt(100), nvt(1)] }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-nvt-feed-warning|NVT|warning']);
  });

  it('scanner down raises one critical alert and clears', async () => {
    const s = await scanner();
    const down = healthy({ scanners: [{ ...healthy().scanners[0]!, reachable: false, version: null }] });
    await send(s, down);
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-down||critical']);
    expect((await alerts(s))[0].title).toBe("Scanner daemon not available: scanner 'OpenVAS Default' unreachable");
    await send(s, healthy());
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect(await alerts(s)).toHaveLength(1);
  });

  it('a task stuck Requested raises one alert (status since across reports) and clears when it runs', async () => {
    const s = await scanner();
    const requested = task('t-2', 'Nightly LAN', 'Requested', { lastReport: null });
    await send(s, healthy({ collectedAt: ago(18 * MINUTE), tasks: [task('t-1', 'Weekly DMZ', 'Done'), requested] }));
    await send(s, healthy({ tasks: [task('t-1', 'Weekly DMZ', 'Done'), requested] }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-task-requested-warning|t-2|warning']);
    expect((await alerts(s))[0].title).toBe("Scan stuck in Requested: task 'Nightly LAN' Requested for 18 min");
    await send(s, healthy({ tasks: [task('t-1', 'Weekly DMZ', 'Done'), { ...requested, status: 'Running', progress: 1 }] }));
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect(await alerts(s)).toHaveLength(1);
  });

  it('an OOM-killed redis (lastOomKillAt) raises one alert and clears once the kill is an hour old', async () => {
    const s = await scanner();
    const containers = (oomAgo: number) =>
      healthy().coreContainers!.map((c) =>
        c.service === 'redis-server' ? { ...c, lastOomKillAt: ago(oomAgo), startedAt: ago(oomAgo - 5_000) } : c,
      );
    await send(s, healthy({ coreContainers: containers(5 * MINUTE) }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-core-container-oom|redis-server|warning']);
    expect((await alerts(s))[0].title).toBe('Greenbone container OOM-killed: redis-server OOM-killed 5 min ago');
    await send(s, healthy({ coreContainers: containers(61 * MINUTE) }));
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect(await alerts(s)).toHaveLength(1);
  });

  it('GMP unreachable raises one alert at the third report in a row, and clears when GMP answers', async () => {
    const s = await scanner();
    await send(s, healthy({ collectedAt: ago(4 * MINUTE) }));
    for (const minutes of [3, 2]) {
      await send(s, healthy({ ...gmpDown(), collectedAt: ago(minutes * MINUTE) }));
      await evaluate();
      expect(await unresolved(s)).toEqual([]);
    }
    await send(s, healthy({ ...gmpDown(), collectedAt: ago(MINUTE) }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-gmp-unreachable||critical']);
    expect((await alerts(s))[0].title).toBe('GMP unreachable: GMP unreachable in 3 successive reports (timeout)');
    await send(s, healthy());
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect(await alerts(s)).toHaveLength(1);
  });

  it('the default admin password raises one critical alert and clears once changed', async () => {
    const s = await scanner();
    await send(s, healthy({ defaultAdminPassword: true }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-default-admin-password||critical']);
    await send(s, healthy({ defaultAdminPassword: false }));
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect(await alerts(s)).toHaveLength(1);
  });

  it('a device offline raises no scanner alert and resolves none', async () => {
    const s = await scanner();
    await send(s, healthy({ defaultAdminPassword: true }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-default-admin-password||critical']);
    await api.sql.query(`UPDATE devices SET last_heartbeat_at = now() - interval '10 minutes' WHERE id = $1`, [s.deviceId]);
    // A fresh report that breaches another check and clears the open one, stored without a heartbeat.
    await observeOnly(
      s,
      healthy({ scanners: [{ ...healthy().scanners[0]!, reachable: false, version: null }], defaultAdminPassword: false }),
    );
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-default-admin-password||critical']);
    // Back online: judged again.
    await send(s, healthy({ scanners: [{ ...healthy().scanners[0]!, reachable: false, version: null }] }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-down||critical']);
  });

  it('GMP unreachable hides feed and task alerts: open ones hold, none opens, and history is kept', async () => {
    const s = await scanner();
    const requested = task('t-2', 'Nightly LAN', 'Requested', { lastReport: null });
    const stale = [{ type: 'NVT', version: feedVersion(100), isSyncing: false, syncingSince: null, syncError: null }];
    await send(s, healthy({ collectedAt: ago(18 * MINUTE), feeds: stale, tasks: [requested] }));
    await send(s, healthy({ collectedAt: ago(10 * MINUTE), feeds: stale, tasks: [requested] }));
    await evaluate();
    const open = ['scanner-nvt-feed-warning|NVT|warning', 'scanner-task-requested-warning|t-2|warning'];
    expect((await unresolved(s)).sort()).toEqual(open);
    // GMP down: the report has no feeds and no tasks; they are not gone, just not known.
    await send(s, healthy({ ...gmpDown(), collectedAt: ago(5 * MINUTE) }));
    await evaluate();
    expect((await unresolved(s)).sort()).toEqual(open);
    const states = await api.sql.query(`SELECT task_id FROM scanner_task_states WHERE device_id = $1`, [s.deviceId]);
    expect(states.rows).toEqual([{ task_id: 't-2' }]);
    // A new breach behind a GMP outage opens nothing either (a second scanner, down from its first report on).
    const other = await scanner();
    await send(other, healthy({ ...gmpDown() }));
    await evaluate();
    expect(await unresolved(other)).toEqual([]);
    // GMP answers again with everything healthy: both clear.
    await send(s, healthy());
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
  });

  it('within the grace period after a core container (re)started, the checks that depend on it hold', async () => {
    const s = await scanner();
    const requested = task('t-2', 'Nightly LAN', 'Requested', { lastReport: null });
    const containers = (gvmdStarted: number) =>
      healthy().coreContainers!.map((c) => (c.service === 'gvmd' ? { ...c, startedAt: ago(gvmdStarted) } : c));
    await send(s, healthy({ collectedAt: ago(18 * MINUTE), tasks: [requested], coreContainers: containers(20 * MINUTE) }));
    await send(s, healthy({ tasks: [requested], coreContainers: containers(2 * MINUTE), defaultAdminPassword: true }));
    await evaluate();
    // gvmd restarted 2 minutes ago: the task check holds; checks not depending on gvmd go on.
    expect(await unresolved(s)).toEqual(['scanner-default-admin-password||critical']);
    await send(s, healthy({ tasks: [requested], coreContainers: containers(11 * MINUTE), defaultAdminPassword: true }));
    await evaluate();
    expect((await unresolved(s)).sort()).toEqual([
      'scanner-default-admin-password||critical',
      'scanner-task-requested-warning|t-2|warning',
    ]);
  });

  it('a stale report opens nothing and resolves nothing', async () => {
    const s = await scanner();
    await send(s, healthy({ defaultAdminPassword: true }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-default-admin-password||critical']);
    await send(s, healthy({ defaultAdminPassword: false, scanners: [{ ...healthy().scanners[0]!, reachable: false, version: null }] }));
    // The report (which clears one check and breaches another) ages past two polls before it is judged.
    await api.sql.query(`UPDATE scanner_snapshots SET collected_at = now() - interval '25 minutes' WHERE device_id = $1`, [s.deviceId]);
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-default-admin-password||critical']);
  });

  it('an alert whose subject left a complete report (a deleted task) resolves, saying so; a truncated list keeps it', async () => {
    const s = await scanner();
    const requested = task('t-2', 'Nightly LAN', 'Requested', { lastReport: null });
    await send(s, healthy({ collectedAt: ago(18 * MINUTE), tasks: [task('t-1', 'Weekly DMZ', 'Done'), requested] }));
    await send(s, healthy({ collectedAt: ago(2 * MINUTE), tasks: [task('t-1', 'Weekly DMZ', 'Done'), requested] }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-task-requested-warning|t-2|warning']);
    await send(s, healthy({ collectedAt: ago(MINUTE), tasks: [task('t-1', 'Weekly DMZ', 'Done')], tasksTruncated: true }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-task-requested-warning|t-2|warning']);
    await send(s, healthy({ tasks: [task('t-1', 'Weekly DMZ', 'Done')] }));
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    expect((await alerts(s)).map((a) => [a.state, a.resolve_note])).toEqual([['resolved', 'no longer in the scanner report']]);
  });

  it('a scheduled run missed: the expected time is kept after gvmd moved on, and paid when the run starts', async () => {
    const s = await scanner();
    // 15 minutes overdue: a device rule of the built-in key at 10 minutes judges it sooner than the default 30.
    const rule = await api.request('POST', 'alert-rules', {
      token: admin,
      body: {
        key: 'scanner-task-run-missed',
        name: 'Scheduled scan missed',
        kind: 'scanner',
        params: { check: 'task_run_missed', threshold: 10 },
        severity: 'warning',
        scope: { kind: 'device', id: s.deviceId },
      },
    });
    expect(rule.status, rule.text).toBe(201);
    const weekly = (nextRunAt: string, lastStarted = ago(7 * 86_400_000)) =>
      task('t-1', 'Weekly DMZ', 'Done', {
        nextRunAt,
        lastReport: { ...task('t-1', '', 'Done').lastReport!, scanStartedAt: lastStarted, scanEndedAt: ago(7 * 86_400_000 - 3_600_000) },
      });
    const nextWeek = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await send(s, healthy({ collectedAt: ago(19 * MINUTE), tasks: [weekly(ago(15 * MINUTE))] }));
    await send(s, healthy({ collectedAt: ago(2 * MINUTE), tasks: [weekly(nextWeek)] }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-task-run-missed|t-1|warning']);
    expect((await alerts(s))[0].title).toBe("Scheduled scan missed: task 'Weekly DMZ' scheduled run 15 min overdue");
    // It ran late after all (started after the expected time): paid, the next one is expected.
    await send(s, healthy({ tasks: [weekly(nextWeek, ago(MINUTE))] }));
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
    const state = await api.sql.query(`SELECT expected_run_at FROM scanner_task_states WHERE device_id = $1`, [s.deviceId]);
    expect(state.rows[0].expected_run_at.toISOString()).toBe(nextWeek);
  });

  it("Docker data full within 14 days at the last days' growth (hourly samples); a feed's sync start kept across reports", async () => {
    const s = await scanner();
    const used = (gb: number) => ({ path: '/var/lib/docker', usedBytes: gb * 1e9, totalBytes: 100e9 });
    // 2 GB a day from 70 GB: 76 % used (below 80 %), 24 GB free, full in 12 days.
    // A sample from 9 days ago goes once a newer one is 8 days past it.
    for (const [day, gb] of [
      [9, 10],
      [3, 70],
      [2, 72],
      [1, 74],
    ] as const)
      await observeOnly(s, healthy({ collectedAt: ago(day * 86_400_000), dockerData: used(gb) }));
    const syncing = [{ type: 'NVT', version: feedVersion(12), isSyncing: true, syncingSince: null, syncError: null }];
    const syncSeen = ago(MINUTE + 5_000);
    await send(s, healthy({ collectedAt: syncSeen, dockerData: used(76), feeds: syncing }));
    // The same hour again: no second sample.
    await send(s, healthy({ dockerData: used(76), feeds: syncing }));
    await evaluate();
    expect(await unresolved(s)).toEqual(['scanner-docker-data-full-soon||warning']);
    expect((await alerts(s))[0].title).toBe('Docker data filesystem full soon: Docker data filesystem full in about 12 d');
    const samples = await api.sql.query(`SELECT count(*)::int AS n FROM scanner_docker_samples WHERE device_id = $1`, [s.deviceId]);
    expect(samples.rows[0].n).toBe(4);
    const since = await api.sql.query(`SELECT syncing_since FROM scanner_snapshots WHERE device_id = $1`, [s.deviceId]);
    // gvmd gives no start for an NVT sync: the first report that showed it syncing is kept.
    expect(since.rows[0].syncing_since).toEqual({ NVT: syncSeen });
    // Growth stopped (the last samples flat after a clean-up): clear.
    await send(s, healthy({ dockerData: used(60) }));
    await evaluate();
    expect(await unresolved(s)).toEqual([]);
  });

  it("a site's rule of the same key overrides the global threshold for that site only", async () => {
    const here = await scanner();
    const elsewhere = await scanner();
    const site = (await api.sql.query(`SELECT site_id FROM devices WHERE id = $1`, [here.deviceId])).rows[0].site_id;
    const created = await api.request('POST', 'alert-rules', {
      token: admin,
      body: {
        key: 'scanner-nvt-feed-warning',
        name: 'NVT feed stale (daily sync site)',
        kind: 'scanner',
        params: { check: 'nvt_feed_age', threshold: 24 },
        severity: 'warning',
        scope: { kind: 'site', id: site },
      },
    });
    expect(created.status, created.text).toBe(201);
    const nvt30h = [{ type: 'NVT', version: feedVersion(30), isSyncing: false, syncingSince: null, syncError: null }];
    await send(here, healthy({ feeds: nvt30h }));
    await send(elsewhere, healthy({ feeds: nvt30h }));
    await evaluate();
    expect(await unresolved(here)).toEqual(['scanner-nvt-feed-warning|NVT|warning']);
    expect((await alerts(here))[0].title).toBe('NVT feed stale (daily sync site): NVT feed 30 h old');
    expect(await unresolved(elsewhere)).toEqual([]);
  });

  it('the rule routes refuse scanner params that do not fit the check, naming the field', async () => {
    const create = (params: object) =>
      api.request('POST', 'alert-rules', {
        token: admin,
        body: {
          key: 'scanner-custom',
          name: 'Custom scanner rule',
          kind: 'scanner',
          params,
          severity: 'warning',
          scope: { kind: 'global' },
        },
      });
    const cases: Array<[object, RegExp]> = [
      [{ check: 'scanner_down', threshold: 1 }, /params\.threshold.*scanner_down is a yes\/no check: it takes no threshold/],
      [{ check: 'nvt_feed_age' }, /params\.threshold.*nvt_feed_age needs a threshold in hours/],
      [{ check: 'redis_memory', threshold: 120 }, /params\.threshold.*a percentage above 0 and at most 100/],
      [{ check: 'docker_data_used', threshold: 0 }, /params\.threshold.*a percentage above 0 and at most 100/],
      [{ check: 'no_such_check' }, /params\.check/],
      [{ check: 'task_requested', threshold: 15, forSeconds: 60 }, /params/],
    ];
    for (const [params, message] of cases) {
      const r = await create(params);
      expect(r.status, JSON.stringify(params)).toBe(400);
      expect(r.body.detail, JSON.stringify(params)).toMatch(message);
    }
    expect((await create({ check: 'task_requested', threshold: 30 })).status).toBe(201);
  });

  it("version drift: a core service behind the fleet's newest tag, since when it fell behind (last: it moves the fleet's newest)", async () => {
    const behind = await scanner();
    const ahead = await scanner();
    const gvmd = (tag: string) =>
      healthy().coreContainers!.map((c) =>
        c.service === 'gvmd' ? { ...c, image: `registry.community.greenbone.net/community/gvmd:${tag}` } : c,
      );
    await send(behind, healthy({ coreContainers: gvmd('22.4.1') }));
    await send(ahead, healthy({ coreContainers: gvmd('23.1.0') }));
    await evaluate();
    const kept = await api.sql.query(`SELECT versions_behind FROM scanner_snapshots WHERE device_id = $1`, [behind.deviceId]);
    expect(kept.rows[0].versions_behind.gvmd).toMatchObject({ tag: '22.4.1', newest: '23.1.0' });
    expect(await unresolved(behind)).toEqual([]);
    // Behind for 15 days (the tracked time moved back, as if the engine had seen it then).
    await api.sql.query(
      `UPDATE scanner_snapshots SET versions_behind = jsonb_set(versions_behind, '{gvmd,since}', to_jsonb($2::text)) WHERE device_id = $1`,
      [behind.deviceId, ago(15 * 86_400_000)],
    );
    await evaluate();
    expect(await unresolved(behind)).toEqual(['scanner-version-drift|gvmd|info']);
    expect((await alerts(behind))[0].title).toBe("Greenbone versions behind the fleet: gvmd 22.4.1 behind the fleet's 23.1.0 for 15 d");
    expect(await unresolved(ahead)).toEqual([]);
    await send(behind, healthy({ coreContainers: gvmd('23.1.0') }));
    await evaluate();
    expect(await unresolved(behind)).toEqual([]);
  });
});
