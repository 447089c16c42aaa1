import { describe, expect, it } from 'vitest';
import { ScannerStatsSchema, type ScannerCheck, type ScannerCoreService, type ScannerStats } from '@xspectre/contracts';
import {
  breaches,
  daysUntilFull,
  fleetNewest,
  judgeScanner,
  ladderTop,
  versionOfImage,
  versionsBehind,
  type CheckOutcome,
  type ScannerHealthInput,
  type TaskHistory,
} from './scanner-checks.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const iso = (minutes: number) => ago(minutes).toISOString();
/** A feed version (YYYYMMDDhhmm) `hours` old. */
const feedVersion = (hours: number) => {
  const d = ago(hours * 60);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
};

function stats(overrides: Partial<ScannerStats> = {}): ScannerStats {
  return ScannerStatsSchema.parse({
    collectedAt: iso(1),
    gmp: { reachable: true, error: null, latencyMs: 10, version: '22.5', features: null },
    feeds: [
      { type: 'NVT', version: feedVersion(10), isSyncing: false, syncingSince: null, syncError: null },
      { type: 'SCAP', version: feedVersion(10), isSyncing: false, syncingSince: null, syncError: null },
      { type: 'CERT', version: feedVersion(10), isSyncing: false, syncingSince: null, syncError: null },
    ],
    feedOwnerSet: true,
    scanners: [{ id: 's-1', name: 'OpenVAS Default', type: '2', reachable: true, version: 'OTP/2.0' }],
    tasks: [
      {
        id: 't-1',
        name: 'Weekly DMZ',
        status: 'Done',
        progress: null,
        currentScanStartedAt: null,
        averageDurationSeconds: 600,
        nextRunAt: null,
        lastReport: { id: 'r-1', scanStartedAt: iso(120), scanEndedAt: iso(60), counts: null, errorCount: 0 },
      },
    ],
    tasksTruncated: false,
    totals: { tasks: 1, targets: 1, credentials: 0, reports: 1 },
    coreContainers: [
      core('gvmd', 'registry.community.greenbone.net/community/gvmd:22.4.1'),
      core('ospd-openvas', 'registry.community.greenbone.net/community/ospd-openvas:22.7.1'),
      { ...core('redis-server', 'registry.community.greenbone.net/community/redis-server:1.1.0'), memoryBytes: 1e9 },
      core('pg-gvm', 'registry.community.greenbone.net/community/pg-gvm:stable'),
    ],
    dockerData: { path: '/var/lib/docker', usedBytes: 40e9, totalBytes: 100e9 },
    hostMemoryBytes: 8e9,
    defaultAdminPassword: false,
    ...overrides,
  });
}
function core(service: ScannerCoreService, image: string) {
  return {
    service,
    container: `greenbone-${service}-1`,
    image,
    state: 'running',
    restartCount: 0,
    startedAt: iso(3 * 24 * 60),
    lastOomKillAt: null,
    memoryBytes: null,
  };
}
const done = (status = 'Done'): TaskHistory => ({
  status,
  statusSince: ago(60),
  progress: null,
  progressChangedAt: ago(60),
  expectedRunAt: null,
});
function input(s: ScannerStats = stats(), extra: Partial<ScannerHealthInput> = {}): ScannerHealthInput {
  return {
    collectedAt: new Date(s.collectedAt),
    stats: s,
    online: true,
    gmpUnreachablePolls: 0,
    gmpUnreachableSince: null,
    firstCollectedAt: ago(30 * 24 * 60),
    syncingSince: {},
    tasks: new Map(s.tasks.map((t) => [t.id, done(t.status)])),
    lastFinishedAt: null,
    dockerSamples: [],
    versionsBehind: {},
    ...extra,
  };
}
const outcome = (i: ScannerHealthInput, check: ScannerCheck): CheckOutcome => judgeScanner(i, NOW)!.get(check)!;
/** The subjects of a check that breach a threshold. */
const breached = (i: ScannerHealthInput, check: ScannerCheck, threshold?: number) => {
  const o = outcome(i, check);
  if (o.held) return `held: ${o.why}`;
  return o.readings.filter((r) => breaches(check, r.value, threshold)).map((r) => `${r.subject}|${r.summary}`);
};

describe('scanner checks', () => {
  it('a healthy scanner breaches nothing at the built-in thresholds', () => {
    const builtIn: Array<[ScannerCheck, number | undefined]> = [
      ['nvt_feed_age', 72],
      ['scap_feed_age', 168],
      ['cert_feed_age', 168],
      ['feed_syncing', 2],
      ['scanner_down', undefined],
      ['gmp_unreachable', 3],
      ['gmp_auth_failed', undefined],
      ['core_container_missing', undefined],
      ['core_container_oom', 60],
      ['redis_memory', 50],
      ['task_requested', 15],
      ['task_frozen', 2],
      ['task_interrupted', undefined],
      ['task_run_missed', 30],
      ['no_finished_scan', 8],
      ['docker_data_used', 80],
      ['version_drift', 14],
      ['default_admin_password', undefined],
    ];
    for (const [check, threshold] of builtIn) expect(breached(input(), check, threshold), check).toEqual([]);
    // Growth needs a day of samples: not judged yet.
    expect(breached(input(), 'docker_data_full_in', 14)).toBe('held: less than a day of samples');
  });

  it('feed ages in hours per feed type, with a one-line summary; an unreadable version is no reading', () => {
    const s = stats({
      feeds: [
        { type: 'NVT', version: feedVersion(96), isSyncing: false, syncingSince: null, syncError: null },
        { type: 'SCAP', version: 'garbage', isSyncing: false, syncingSince: null, syncError: null },
      ],
    });
    expect(breached(input(s), 'nvt_feed_age', 72)).toEqual(['NVT|NVT feed 4 d old']);
    expect(breached(input(s), 'nvt_feed_age', 168)).toEqual([]);
    expect(outcome(input(s), 'scap_feed_age')).toEqual({ held: false, complete: true, readings: [] });
  });

  it('the ladder: only the highest threshold breached raises (lowest where lower is worse)', () => {
    const rule = (check: ScannerCheck, threshold: number | undefined, severity: string) => ({
      params: { check, ...(threshold === undefined ? {} : { threshold }) },
      severity,
    });
    const warning = rule('nvt_feed_age', 72, 'warning');
    const critical = rule('nvt_feed_age', 168, 'critical');
    expect(ladderTop([warning, critical], 50)).toBeNull();
    expect(ladderTop([warning, critical], 100)).toBe(warning);
    expect(ladderTop([critical, warning], 200)).toBe(critical);
    expect(ladderTop([warning, critical], null)).toBeNull();
    const soon = rule('docker_data_full_in', 14, 'warning');
    const sooner = rule('docker_data_full_in', 3, 'critical');
    expect(ladderTop([soon, sooner], 10)).toBe(soon);
    expect(ladderTop([soon, sooner], 2)).toBe(sooner);
    expect(ladderTop([soon, sooner], 20)).toBeNull();
    expect(ladderTop([rule('scanner_down', undefined, 'warning'), rule('scanner_down', undefined, 'critical')], true)?.severity).toBe(
      'critical',
    );
  });

  it('tasks: Requested for minutes, progress frozen for hours, Interrupted, a scheduled run missed', () => {
    const task = (id: string, name: string, status: string, progress: number | null = null) => ({
      id,
      name,
      status,
      progress,
      currentScanStartedAt: null,
      averageDurationSeconds: null,
      nextRunAt: null,
      lastReport: null,
    });
    const s = stats({
      tasks: [
        task('a', 'Weekly DMZ', 'Requested'),
        task('b', 'Nightly LAN', 'Running', 40),
        task('c', 'Servers', 'Interrupted'),
        task('d', 'Monthly', 'Done'),
      ],
    });
    const tasks = new Map<string, TaskHistory>([
      ['a', { ...done('Requested'), statusSince: ago(22) }],
      ['b', { ...done('Running'), progress: 40, progressChangedAt: ago(180) }],
      ['c', done('Interrupted')],
      ['d', { ...done('Done'), expectedRunAt: ago(45) }],
    ]);
    const i = input(s, { tasks, lastFinishedAt: ago(60) });
    expect(breached(i, 'task_requested', 15)).toEqual(["a|task 'Weekly DMZ' Requested for 22 min"]);
    expect(breached(i, 'task_requested', 60)).toEqual([]);
    // Judged on the exact time, not the rounded one: 14.6 minutes is not 15.
    const early = input(s, {
      tasks: new Map([...tasks, ['a', { ...done('Requested'), statusSince: new Date(NOW.getTime() - 14.6 * 60_000) }]]),
    });
    expect(breached(early, 'task_requested', 15)).toEqual([]);
    expect(breached(i, 'task_frozen', 2)).toEqual(["b|task 'Nightly LAN' at 40 % for 3 h"]);
    expect(breached(i, 'task_interrupted')).toEqual(["c|task 'Servers' Interrupted"]);
    expect(breached(i, 'task_run_missed', 30)).toEqual(["d|task 'Monthly' scheduled run 45 min overdue"]);
    expect(breached(i, 'task_run_missed', 60)).toEqual([]);
    // Every listed task has a reading (clear ones too) and the list is complete: a task gone is gone.
    const o = outcome(i, 'task_requested');
    expect(o).toMatchObject({ held: false, complete: true });
    expect(!o.held && o.readings.map((r) => r.subject)).toEqual(['a', 'b', 'c', 'd']);
    // A truncated list, or a task not yet in the history: absent subjects are not gone.
    expect(outcome(input({ ...s, tasksTruncated: true }, { tasks }), 'task_requested')).toMatchObject({ complete: false });
    expect(outcome(input(s, { tasks: new Map([...tasks].slice(1)) }), 'task_requested')).toMatchObject({ complete: false });
  });

  it('GMP unreachable counts successive reports; an authentication refusal is its own check', () => {
    const down = stats({
      gmp: { reachable: false, error: { code: 'timeout', message: 'no answer' }, latencyMs: null, version: null, features: null },
    });
    expect(breached(input(down, { gmpUnreachablePolls: 2 }), 'gmp_unreachable', 3)).toEqual([]);
    expect(breached(input(down, { gmpUnreachablePolls: 3 }), 'gmp_unreachable', 3)).toEqual([
      '|GMP unreachable in 3 successive reports (timeout)',
    ]);
    // Whether the login works is not known without a session.
    expect(breached(input(down, { gmpUnreachablePolls: 3 }), 'gmp_auth_failed')).toBe('held: GMP did not answer');
    const refused = stats({
      gmp: { reachable: false, error: { code: 'auth_failed', message: 'bad login' }, latencyMs: 3, version: '22.5', features: null },
    });
    expect(breached(input(refused), 'gmp_auth_failed')).toEqual(['|gvmd refuses the monitor account']);
    expect(breached(input(refused), 'gmp_unreachable', 1)).toEqual([]);
  });

  it('suppression: offline judges nothing, a stale report holds all, GMP down holds feed and task checks', () => {
    const s = stats({ feeds: [{ type: 'NVT', version: feedVersion(500), isSyncing: false, syncingSince: null, syncError: null }] });
    expect(judgeScanner(input(s, { online: false }), NOW)).toBeNull();
    const stale = judgeScanner(input(s, { collectedAt: ago(25) }), NOW)!;
    expect([...stale.values()].every((o) => o.held)).toBe(true);
    const gmpDown = {
      ...s,
      gmp: { reachable: false, error: { code: 'refused' as const, message: 'x' }, latencyMs: null, version: null, features: null },
    };
    const judged = judgeScanner(input(gmpDown, { gmpUnreachablePolls: 1 }), NOW)!;
    for (const check of ['nvt_feed_age', 'feed_syncing', 'scanner_down', 'task_requested', 'task_run_missed', 'no_finished_scan'] as const)
      expect(judged.get(check), check).toEqual({ held: true, why: 'GMP did not answer' });
    // Not gvmd's data: still judged.
    for (const check of ['gmp_unreachable', 'core_container_missing', 'docker_data_used', 'default_admin_password'] as const)
      expect(judged.get(check)?.held, check).toBe(false);
    // A part refused (permission) with GMP up: that part is empty, so gvmd's data is not judged either.
    const partial = { ...s, gmp: { ...s.gmp, error: { code: 'permission' as const, message: 'get_tasks' } } };
    expect(judgeScanner(input(partial), NOW)!.get('task_requested')).toMatchObject({ held: true });
  });

  it('a core container restarted within the grace period holds the checks that depend on it', () => {
    const restarted = (service: string, minutes: number) =>
      stats({
        coreContainers: stats().coreContainers!.map((c) => (c.service === service ? { ...c, startedAt: iso(minutes) } : c)),
      });
    const redis = judgeScanner(input(restarted('redis-server', 3)), NOW)!;
    expect(redis.get('redis_memory')).toEqual({ held: true, why: 'redis-server restarted' });
    expect(redis.get('task_requested')).toMatchObject({ held: true });
    expect(redis.get('nvt_feed_age')).toMatchObject({ held: false });
    const gvmd = judgeScanner(input(restarted('gvmd', 3)), NOW)!;
    expect(gvmd.get('nvt_feed_age')).toMatchObject({ held: true });
    expect(gvmd.get('gmp_unreachable')).toMatchObject({ held: true });
    expect(gvmd.get('docker_data_used')).toMatchObject({ held: false });
    // After the grace period: judged again.
    expect(judgeScanner(input(restarted('gvmd', 11)), NOW)!.get('nvt_feed_age')).toMatchObject({ held: false });
  });

  it('containers: missing, OOM-killed within minutes, Redis memory as a share of RAM', () => {
    const s = stats({
      coreContainers: [
        { ...core('gvmd', 'x/gvmd:22.4.1'), state: 'missing', container: null, image: null, startedAt: null },
        { ...core('redis-server', 'x/redis-server:1.1.0'), lastOomKillAt: iso(12), memoryBytes: 5e9 },
      ],
    });
    expect(breached(input(s), 'core_container_missing')).toEqual(['gvmd|gvmd container missing']);
    expect(breached(input(s), 'core_container_oom', 60)).toEqual(['redis-server|redis-server OOM-killed 12 min ago']);
    expect(breached(input(s), 'core_container_oom', 10)).toEqual([]);
    expect(breached(input(s), 'redis_memory', 50)).toEqual(['|redis-server uses 62.5 % of RAM']);
    expect(breached(input(s), 'redis_memory', 75)).toEqual([]);
    expect(breached(input(stats({ coreContainers: undefined })), 'core_container_missing')).toBe(
      'held: the agent reports no core containers',
    );
  });

  it('scanner down, default admin password, no finished scan', () => {
    const s = stats({
      scanners: [{ id: 's-1', name: 'OpenVAS Default', type: '2', reachable: false, version: null }],
      defaultAdminPassword: true,
    });
    expect(breached(input(s), 'scanner_down')).toEqual(["|scanner 'OpenVAS Default' unreachable"]);
    expect(breached(input(s), 'default_admin_password')).toEqual(['|gvmd accepts the default admin/admin']);
    expect(breached(input(stats({ defaultAdminPassword: null })), 'default_admin_password')).toBe('held: never checked');
    const syncError = stats({
      feeds: [{ type: 'NVT', version: feedVersion(1), isSyncing: false, syncingSince: null, syncError: 'The scanner is not available' }],
    });
    expect(breached(input(syncError), 'scanner_down')).toEqual(['|feed sync not available: The scanner is not available']);
    const idle = stats({ tasks: [{ ...stats().tasks[0]!, lastReport: null }] });
    expect(breached(input(idle, { lastFinishedAt: ago(9 * 24 * 60) }), 'no_finished_scan', 8)).toEqual(['|no scan finished for 9 d']);
    expect(breached(input(idle, { lastFinishedAt: ago(7 * 24 * 60) }), 'no_finished_scan', 8)).toEqual([]);
    // No task at all: nothing to finish.
    expect(
      breached(input(stats({ tasks: [], totals: { tasks: 0, targets: 0, credentials: 0, reports: 0 } })), 'no_finished_scan', 0),
    ).toEqual([]);
  });

  it("Docker data: percent used, full within days at the week's linear growth (only with a day's span)", () => {
    expect(breached(input(stats({ dockerData: { path: '/d', usedBytes: 85e9, totalBytes: 100e9 } })), 'docker_data_used', 80)).toEqual([
      '|Docker data filesystem 85 % full',
    ]);
    // 1 GB a day, 10 GB free: full in 10 days.
    const samples = [0, 1, 2, 3].map((d) => ({ at: ago((4 - d) * 24 * 60), usedBytes: 86e9 + d * 1e9, totalBytes: 100e9 }));
    expect(daysUntilFull([...samples, { at: NOW, usedBytes: 90e9, totalBytes: 100e9 }], NOW)).toBeCloseTo(10, 5);
    const growing = input(stats({ dockerData: { path: '/d', usedBytes: 90e9, totalBytes: 100e9 } }), { dockerSamples: samples });
    expect(breached(growing, 'docker_data_full_in', 14)).toEqual(['|Docker data filesystem full in about 10 d']);
    expect(breached(growing, 'docker_data_full_in', 7)).toEqual([]);
    // Shrinking or flat: never full. A few hours of samples: not judged.
    expect(
      daysUntilFull(
        [...samples].reverse().map((s, i) => ({ ...s, at: samples[i]!.at })),
        NOW,
      ),
    ).toBeNull();
    expect(
      daysUntilFull(
        [
          { at: ago(120), usedBytes: 1, totalBytes: 10 },
          { at: ago(60), usedBytes: 2, totalBytes: 10 },
          { at: NOW, usedBytes: 3, totalBytes: 10 },
        ],
        NOW,
      ),
    ).toBeUndefined();
  });

  it('version drift: the fleet newest per service among comparable tags, behind since kept while behind', () => {
    expect(versionOfImage('registry.community.greenbone.net/community/gvmd:22.4.1')).toEqual({ tag: '22.4.1', parts: [22, 4, 1] });
    expect(versionOfImage('localhost:5000/gvmd:v23.1@sha256:abc')).toEqual({ tag: 'v23.1', parts: [23, 1] });
    expect(versionOfImage('greenbone/gvmd:stable')).toBeNull();
    expect(versionOfImage('greenbone/gvmd')).toBeNull();
    const older = stats();
    const newer = stats({ coreContainers: [core('gvmd', 'x/gvmd:23.1.0'), core('pg-gvm', 'x/pg-gvm:16')] });
    const newest = fleetNewest([older, newer]);
    expect(newest.get('gvmd')?.tag).toBe('23.1.0');
    expect(newest.has('pg-gvm')).toBe(true);
    const first = versionsBehind(older, newest, {}, ago(20 * 24 * 60));
    // pg-gvm:stable is not a version: never judged behind.
    expect(first).toEqual({ gvmd: { since: iso(20 * 24 * 60), tag: '22.4.1', newest: '23.1.0' } });
    expect(versionsBehind(older, newest, first, NOW).gvmd?.since).toBe(iso(20 * 24 * 60));
    expect(versionsBehind(newer, newest, first, NOW)).toEqual({});
    expect(breached(input(older, { versionsBehind: first }), 'version_drift', 14)).toEqual([
      "gvmd|gvmd 22.4.1 behind the fleet's 23.1.0 for 20 d",
    ]);
  });
});
