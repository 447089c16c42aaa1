import {
  feedVersionTime,
  SCANNER_CHECK_UNITS,
  SCANNER_CHECKS,
  SCANNER_RESTART_GRACE_SECONDS,
  SCANNER_STATS_STALE_SECONDS,
  type ScannerCheck,
  type ScannerCoreService,
  type ScannerStats,
} from '@xspectre/contracts';
import type { VersionBehind } from './scanner-snapshot.entity.js';

/**
 * The scanner checks (contracts/src/alerts.ts, SCANNER_CHECK_UNITS), pure: from one scanner's
 * latest report and what successive reports kept, a reading per check and subject (a feed type,
 * a task id, a core service, '' for the scanner). The alert engine compares readings with the
 * rules' thresholds (api/src/alerts/alert-evaluator.ts).
 */

/** One task's state across reports (api/src/scanners/scanner-history.repository.ts). */
export interface TaskHistory {
  status: string;
  statusSince: Date;
  progress: number | null;
  progressChangedAt: Date;
  expectedRunAt: Date | null;
}

export interface DockerSample {
  at: Date;
  usedBytes: number;
  totalBytes: number;
}

export interface ScannerHealthInput {
  collectedAt: Date;
  stats: ScannerStats;
  online: boolean;
  gmpUnreachablePolls: number;
  gmpUnreachableSince: Date | null;
  firstCollectedAt: Date;
  /** Feed type → since when it syncs, when gvmd gives no time. */
  syncingSince: Record<string, string>;
  tasks: ReadonlyMap<string, TaskHistory>;
  /** The newest scan end among the reports the API counted. */
  lastFinishedAt: Date | null;
  /** The last week's samples, oldest first. */
  dockerSamples: readonly DockerSample[];
  versionsBehind: Record<string, VersionBehind>;
}

/**
 * A check's value for one subject: a number in the check's unit, a yes/no, or null when the
 * condition does not apply (a task not Requested, no OOM kill seen): clear at any threshold.
 */
export interface ScannerReading {
  subject: string;
  value: number | boolean | null;
  /** One line for the alert's title ("NVT feed 4 d old"). */
  summary: string;
  details: Record<string, unknown>;
}

/**
 * A check's outcome for one scanner. `held`: neither open nor resolve (suppressed, or not known);
 * otherwise the readings, and `complete` when a subject without a reading is gone (a deleted task:
 * its alert resolves).
 */
export type CheckOutcome = { held: true; why: string } | { held: false; complete: boolean; readings: ScannerReading[] };

/** Checks where a smaller value is worse: minutes since an OOM kill, days until full. */
const LOWER_IS_WORSE: ReadonlySet<ScannerCheck> = new Set(['core_container_oom', 'docker_data_full_in']);

/** Checks that read what gvmd answers over GMP: held while GMP does not answer. */
const GMP_CHECKS: ReadonlySet<ScannerCheck> = new Set([
  'nvt_feed_age',
  'scap_feed_age',
  'cert_feed_age',
  'feed_syncing',
  'scanner_down',
  'task_requested',
  'task_frozen',
  'task_interrupted',
  'task_run_missed',
  'no_finished_scan',
]);

const GVMD: ScannerCoreService[] = ['gvmd', 'pg-gvm'];
const SCANNING: ScannerCoreService[] = ['gvmd', 'pg-gvm', 'ospd-openvas', 'openvasd', 'redis-server'];
/** The core services each check depends on: for the restart grace, a (re)start of one holds the check. */
const DEPENDS_ON: Record<ScannerCheck, readonly ScannerCoreService[]> = {
  nvt_feed_age: GVMD,
  scap_feed_age: GVMD,
  cert_feed_age: GVMD,
  feed_syncing: GVMD,
  scanner_down: SCANNING,
  gmp_unreachable: GVMD,
  gmp_auth_failed: GVMD,
  core_container_missing: [],
  // An OOM kill restarts the container: holding would hide the very thing this check reports.
  core_container_oom: [],
  redis_memory: ['redis-server'],
  task_requested: SCANNING,
  task_frozen: SCANNING,
  task_interrupted: SCANNING,
  task_run_missed: GVMD,
  no_finished_scan: [],
  docker_data_used: [],
  docker_data_full_in: [],
  version_drift: [],
  default_admin_password: [],
};

const FEED_OF: Partial<Record<ScannerCheck, string>> = { nvt_feed_age: 'NVT', scap_feed_age: 'SCAP', cert_feed_age: 'CERT' };
/** Growth is judged only over at least this span of samples. */
export const MIN_GROWTH_SPAN_MS = 24 * 3_600_000;
const WEEK_MS = 7 * 86_400_000;

/** Whether a reading breaches a rule's threshold (yes/no checks take none). */
export function breaches(check: ScannerCheck, value: ScannerReading['value'], threshold: number | undefined): boolean {
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (threshold === undefined) return false;
  return LOWER_IS_WORSE.has(check) ? value <= threshold : value >= threshold;
}

/**
 * The ladder: of one check's rules that the reading breaches, the one at the highest threshold
 * (the lowest for checks where lower is worse; the most severe for yes/no checks) raises; null
 * when none breaches.
 */
export function ladderTop<R extends { params: { check: ScannerCheck; threshold?: number }; severity: string }>(
  rules: readonly R[],
  value: ScannerReading['value'],
): R | null {
  const rank = (r: R) => {
    const t = r.params.threshold;
    const severity = r.severity === 'critical' ? 2 : r.severity === 'warning' ? 1 : 0;
    if (t === undefined) return severity;
    return LOWER_IS_WORSE.has(r.params.check) ? -t : t;
  };
  let top: R | null = null;
  for (const rule of rules) if (breaches(rule.params.check, value, rule.params.threshold) && (!top || rank(rule) > rank(top))) top = rule;
  return top;
}

/**
 * Every check's outcome for one scanner at `now`; null when the device is offline (no scanner
 * check is judged: open alerts stay, none opens).
 */
export function judgeScanner(
  input: ScannerHealthInput,
  now: Date,
  restartGraceSeconds: number = SCANNER_RESTART_GRACE_SECONDS,
): Map<ScannerCheck, CheckOutcome> | null {
  if (!input.online) return null;
  const out = new Map<ScannerCheck, CheckOutcome>();
  const stale = now.getTime() - input.collectedAt.getTime() > SCANNER_STATS_STALE_SECONDS * 1000;
  const gmp = input.stats.gmp;
  const restarted = recentlyStarted(input, restartGraceSeconds);
  for (const check of SCANNER_CHECKS) {
    if (stale) {
      out.set(check, { held: true, why: 'the report is stale' });
      continue;
    }
    const restart = DEPENDS_ON[check].find((s) => restarted.has(s));
    if (restart) {
      out.set(check, { held: true, why: `${restart} restarted` });
      continue;
    }
    // GMP down, or a part of the report refused (that part is empty): gvmd's data is not known.
    if (GMP_CHECKS.has(check) && (!gmp.reachable || gmp.error)) {
      out.set(check, { held: true, why: 'GMP did not answer' });
      continue;
    }
    out.set(check, CHECKS[check](input, now));
  }
  return out;
}

/** Core services started within the grace period before the report was collected (or after it). */
function recentlyStarted(input: ScannerHealthInput, graceSeconds: number): Set<ScannerCoreService> {
  const started = new Set<ScannerCoreService>();
  for (const c of input.stats.coreContainers ?? []) {
    if (!c.startedAt) continue;
    if (input.collectedAt.getTime() < new Date(c.startedAt).getTime() + graceSeconds * 1000) started.add(c.service);
  }
  return started;
}

const hoursSince = (at: Date, now: Date) => (now.getTime() - at.getTime()) / 3_600_000;
const round1 = (n: number) => Math.round(n * 10) / 10;
const held = (why: string): CheckOutcome => ({ held: true, why });
const judged = (readings: ScannerReading[], complete = true): CheckOutcome => ({ held: false, complete, readings });
const one = (value: ScannerReading['value'], summary: string, details: Record<string, unknown> = {}) =>
  judged([{ subject: '', value, summary, details }]);
/** Seconds as the largest whole unit (as api/src/alerts/alert-titles.ts words durations): "22 min", "3 h", "4 d". */
function since(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}
const quote = (name: string) => `'${name.length > 80 ? `${name.slice(0, 79)}…` : name}'`;

function feedAge(check: ScannerCheck) {
  const type = FEED_OF[check]!;
  return (input: ScannerHealthInput, now: Date): CheckOutcome => {
    const readings: ScannerReading[] = [];
    for (const feed of input.stats.feeds) {
      if (feed.type.toUpperCase() !== type) continue;
      const at = feedVersionTime(feed.version);
      if (!at) continue; // gvmd could not read the version: its age is not known
      const hours = hoursSince(new Date(at), now);
      readings.push({
        subject: type,
        value: round1(hours),
        summary: `${type} feed ${since(hours * 3600)} old`,
        details: { feedType: type, version: feed.version, versionTime: at },
      });
    }
    return judged(readings);
  };
}

function taskCheck(
  fn: (task: ScannerStats['tasks'][number], history: TaskHistory, now: Date) => Omit<ScannerReading, 'subject' | 'details'> | null,
) {
  return (input: ScannerHealthInput, now: Date): CheckOutcome => {
    const readings: ScannerReading[] = [];
    let complete = !input.stats.tasksTruncated;
    for (const task of input.stats.tasks) {
      const history = input.tasks.get(task.id);
      if (!history) {
        complete = false; // stored with the next report: neither judged nor gone
        continue;
      }
      const r = fn(task, history, now);
      const details = { taskId: task.id, taskName: task.name, status: task.status, progress: task.progress };
      readings.push(r ? { subject: task.id, ...r, details } : { subject: task.id, value: null, summary: '', details });
    }
    return judged(readings, complete);
  };
}

const CHECKS: Record<ScannerCheck, (input: ScannerHealthInput, now: Date) => CheckOutcome> = {
  nvt_feed_age: feedAge('nvt_feed_age'),
  scap_feed_age: feedAge('scap_feed_age'),
  cert_feed_age: feedAge('cert_feed_age'),

  feed_syncing: (input, now) =>
    judged(
      input.stats.feeds.map((feed) => {
        const type = feed.type.toUpperCase();
        const from = feed.syncingSince ?? input.syncingSince[feed.type] ?? null;
        if (!feed.isSyncing || !from) return { subject: type, value: null, summary: '', details: { feedType: type } };
        const hours = hoursSince(new Date(from), now);
        return {
          subject: type,
          value: round1(hours),
          summary: `${type} feed syncing for ${since(hours * 3600)}`,
          details: { feedType: type, syncingSince: new Date(from).toISOString() },
        };
      }),
    ),

  scanner_down: (input) => {
    const down = input.stats.scanners.filter((s) => s.reachable === false);
    const syncErrors = input.stats.feeds.filter((f) => f.syncError);
    if (down.length > 0)
      return one(true, `scanner ${quote(down[0]!.name)} unreachable${down.length > 1 ? ` (and ${down.length - 1} more)` : ''}`, {
        scanners: down.map((s) => s.name),
      });
    if (syncErrors.length > 0) {
      const text = syncErrors[0]!.syncError!;
      return one(true, `feed sync not available: ${text.length > 120 ? `${text.slice(0, 119)}…` : text}`, {
        feeds: syncErrors.map((f) => f.type),
      });
    }
    return one(false, '');
  },

  gmp_unreachable: (input) => {
    const gmp = input.stats.gmp;
    if (gmp.reachable) return one(null, '');
    // An authentication refusal is gvmd answering (gmp_auth_failed); the count does not run then.
    if (input.gmpUnreachablePolls === 0) return one(null, '');
    return one(
      input.gmpUnreachablePolls,
      `GMP unreachable in ${input.gmpUnreachablePolls} successive reports${gmp.error ? ` (${gmp.error.code})` : ''}`,
      {
        polls: input.gmpUnreachablePolls,
        since: input.gmpUnreachableSince?.toISOString() ?? null,
        error: gmp.error?.code ?? null,
      },
    );
  },

  gmp_auth_failed: (input) => {
    const code = input.stats.gmp.error?.code;
    if (input.stats.gmp.reachable) return one(false, '');
    if (code === 'auth_failed') return one(true, 'gvmd refuses the monitor account', { account: input.stats.account ?? null });
    return held('GMP did not answer'); // no session: whether the login works is not known
  },

  core_container_missing: (input) => {
    const containers = input.stats.coreContainers;
    if (!containers) return held('the agent reports no core containers');
    return judged(
      containers.map((c) => ({
        subject: c.service,
        value: c.state === 'missing',
        summary: `${c.service} container missing`,
        details: { service: c.service },
      })),
    );
  },

  core_container_oom: (input, now) => {
    const containers = input.stats.coreContainers;
    if (!containers) return held('the agent reports no core containers');
    return judged(
      containers.map((c) => {
        if (!c.lastOomKillAt) return { subject: c.service, value: null, summary: '', details: { service: c.service } };
        const minutes = Math.max(0, (now.getTime() - new Date(c.lastOomKillAt).getTime()) / 60_000);
        return {
          subject: c.service,
          value: round1(minutes),
          summary: `${c.service} OOM-killed ${since(minutes * 60)} ago`,
          details: { service: c.service, container: c.container, lastOomKillAt: c.lastOomKillAt },
        };
      }),
    );
  },

  redis_memory: (input) => {
    const redis = input.stats.coreContainers?.find((c) => c.service === 'redis-server');
    const host = input.stats.hostMemoryBytes;
    if (!redis || redis.memoryBytes === null || !host) return held("redis-server's memory or the host's RAM is not reported");
    const percent = round1((redis.memoryBytes / host) * 100);
    return one(percent, `redis-server uses ${percent} % of RAM`, { memoryBytes: redis.memoryBytes, hostMemoryBytes: host });
  },

  task_requested: taskCheck((task, h, now) => {
    if (task.status !== 'Requested' || h.status !== 'Requested') return null;
    const minutes = (now.getTime() - h.statusSince.getTime()) / 60_000;
    return { value: round1(minutes), summary: `task ${quote(task.name)} Requested for ${since(minutes * 60)}` };
  }),

  task_frozen: taskCheck((task, h, now) => {
    if (task.status !== 'Running' || h.status !== 'Running') return null;
    const hours = hoursSince(h.progressChangedAt, now);
    return {
      value: round1(hours),
      summary: `task ${quote(task.name)} at ${task.progress ?? 0} % for ${since(hours * 3600)}`,
    };
  }),

  task_interrupted: taskCheck((task) =>
    task.status === 'Interrupted' ? { value: true, summary: `task ${quote(task.name)} Interrupted` } : { value: false, summary: '' },
  ),

  task_run_missed: taskCheck((task, h, now) => {
    if (!h.expectedRunAt || h.expectedRunAt > now) return null;
    const minutes = (now.getTime() - h.expectedRunAt.getTime()) / 60_000;
    return { value: round1(minutes), summary: `task ${quote(task.name)} scheduled run ${since(minutes * 60)} overdue` };
  }),

  no_finished_scan: (input, now) => {
    if (input.stats.tasks.length === 0 && !input.stats.totals.tasks) return one(null, '');
    let last = input.lastFinishedAt;
    for (const t of input.stats.tasks) {
      const ended = t.lastReport?.scanEndedAt ? new Date(t.lastReport.scanEndedAt) : null;
      if (ended && (!last || ended > last)) last = ended;
    }
    // Never finished one: counted from the scanner's first report.
    const from = last ?? input.firstCollectedAt;
    const days = round1((now.getTime() - from.getTime()) / 86_400_000);
    return one(
      days,
      last ? `no scan finished for ${since(days * 86_400)}` : `no scan finished since the first report, ${since(days * 86_400)} ago`,
      {
        lastFinishedAt: last?.toISOString() ?? null,
      },
    );
  },

  docker_data_used: (input) => {
    const d = input.stats.dockerData;
    if (!d || d.totalBytes <= 0) return held("Docker's data filesystem is not reported");
    const percent = round1((d.usedBytes / d.totalBytes) * 100);
    return one(percent, `Docker data filesystem ${percent} % full`, { path: d.path, usedBytes: d.usedBytes, totalBytes: d.totalBytes });
  },

  docker_data_full_in: (input, now) => {
    const d = input.stats.dockerData;
    if (!d || d.totalBytes <= 0) return held("Docker's data filesystem is not reported");
    const days = daysUntilFull([...input.dockerSamples, { at: input.collectedAt, usedBytes: d.usedBytes, totalBytes: d.totalBytes }], now);
    if (days === undefined) return held('less than a day of samples');
    if (days === null) return one(null, '');
    return one(round1(days), `Docker data filesystem full in about ${since(days * 86_400)}`, {
      path: d.path,
      usedBytes: d.usedBytes,
      totalBytes: d.totalBytes,
    });
  },

  version_drift: (input, now) =>
    judged(
      (input.stats.coreContainers ?? []).map((c) => {
        const behind = input.versionsBehind[c.service];
        if (!behind) return { subject: c.service, value: null, summary: '', details: { service: c.service } };
        const days = round1((now.getTime() - new Date(behind.since).getTime()) / 86_400_000);
        return {
          subject: c.service,
          value: days,
          summary: `${c.service} ${behind.tag} behind the fleet's ${behind.newest} for ${since(days * 86_400)}`,
          details: { service: c.service, ...behind },
        };
      }),
    ),

  default_admin_password: (input) => {
    const v = input.stats.defaultAdminPassword;
    if (v === null || v === undefined) return held('never checked');
    return one(v, 'gvmd accepts the default admin/admin');
  },
};

/**
 * Days until the filesystem is full at the growth of the last week's samples (least squares);
 * null when it does not grow; undefined when the samples span less than MIN_GROWTH_SPAN_MS.
 */
export function daysUntilFull(samples: readonly DockerSample[], now: Date): number | null | undefined {
  const recent = samples.filter((s) => s.at.getTime() >= now.getTime() - WEEK_MS).sort((a, b) => a.at.getTime() - b.at.getTime());
  if (recent.length < 3) return undefined;
  const first = recent[0]!.at.getTime();
  const lastSample = recent[recent.length - 1]!;
  if (lastSample.at.getTime() - first < MIN_GROWTH_SPAN_MS) return undefined;
  const xs = recent.map((s) => (s.at.getTime() - first) / 86_400_000);
  const ys = recent.map((s) => s.usedBytes);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const perDay = den > 0 ? num / den : 0;
  if (perDay <= 0) return null;
  return Math.max(0, (lastSample.totalBytes - lastSample.usedBytes) / perDay);
}

/** An image reference's tag as comparable numbers (`…/gvmd:22.4.1` → [22, 4, 1]); null: not a version (`stable`). */
export function versionOfImage(image: string | null): { tag: string; parts: number[] } | null {
  if (!image) return null;
  const ref = image.split('@')[0]!;
  const name = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = name.lastIndexOf(':');
  if (colon < 0) return null;
  const tag = name.slice(colon + 1);
  const m = /^v?(\d+(?:\.\d+)*)/.exec(tag);
  return m ? { tag, parts: m[1]!.split('.').map(Number) } : null;
}

function compareParts(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Per core service, the newest version tag among these (fresh) reports. */
export function fleetNewest(reports: readonly ScannerStats[]): Map<string, { tag: string; parts: number[] }> {
  const newest = new Map<string, { tag: string; parts: number[] }>();
  for (const stats of reports)
    for (const c of stats.coreContainers ?? []) {
      const v = versionOfImage(c.image);
      const best = newest.get(c.service);
      if (v && (!best || compareParts(v.parts, best.parts) > 0)) newest.set(c.service, v);
    }
  return newest;
}

/**
 * The services of one report behind the fleet's newest, keeping each one's `since` while it stays
 * behind (a service catching up drops out; a newer fleet version keeps the earlier since).
 */
export function versionsBehind(
  stats: ScannerStats,
  newest: ReadonlyMap<string, { tag: string; parts: number[] }>,
  previous: Record<string, VersionBehind>,
  now: Date,
): Record<string, VersionBehind> {
  const behind: Record<string, VersionBehind> = {};
  for (const c of stats.coreContainers ?? []) {
    const v = versionOfImage(c.image);
    const best = newest.get(c.service);
    if (!v || !best || compareParts(v.parts, best.parts) >= 0) continue;
    behind[c.service] = { since: previous[c.service]?.since ?? now.toISOString(), tag: v.tag, newest: best.tag };
  }
  return behind;
}

/** The unit of a check's threshold, for the alert's details. */
export const unitOf = (check: ScannerCheck) => SCANNER_CHECK_UNITS[check];
