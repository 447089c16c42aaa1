import { SCANNER_FEED_AGE_HOURS, SCANNER_LIST_FILTERS, type ScannerTask } from '@xspectre/contracts';

/**
 * How the Scanner Ops page and a scanner's tab judge what a scanner reported (pure; tests beside
 * it). The colours follow the built-in scanner rules' defaults (contracts/src/scanners.ts,
 * contracts/src/alerts.ts), so a red feed on screen is one the engine alerts on.
 */

export type Level = 'ok' | 'warning' | 'critical' | 'unknown';
export type ScannerFilter = (typeof SCANNER_LIST_FILTERS)[number];

export const FILTER_LABELS: Record<ScannerFilter, string> = {
  stale_feeds: 'Stale feeds',
  failing: 'Failing',
  idle: 'Idle (no scan in 8 days)',
  version_drift: 'Version drift',
};

export function scannerFilterOf(value: string | null): ScannerFilter | undefined {
  return (SCANNER_LIST_FILTERS as readonly string[]).includes(value ?? '') ? (value as ScannerFilter) : undefined;
}

/** A feed's age in hours from the time its version names; null when that is unknown. */
export function feedAgeHours(at: string | null | undefined, now: number): number | null {
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : Math.max(0, (now - t) / 3_600_000);
}

/** ok / warning / critical by the feed type's thresholds; `unknown` without a time or for a type without thresholds (GVMD_DATA). */
export function feedAgeLevel(type: string, at: string | null | undefined, now: number): Level {
  const hours = feedAgeHours(at, now);
  const limits = SCANNER_FEED_AGE_HOURS[type.toUpperCase() as keyof typeof SCANNER_FEED_AGE_HOURS];
  if (hours === null || !limits) return 'unknown';
  if (hours >= limits.critical) return 'critical';
  if (hours >= limits.warning) return 'warning';
  return 'ok';
}

/** "5 h", "3 d" (a feed's age), "—" when unknown. */
export function ageText(hours: number | null): string {
  if (hours === null) return '—';
  if (hours < 1) return `${Math.round(hours * 60)} m`;
  if (hours < 48) return `${Math.floor(hours)} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** A `YYYYMMDDhhmm` feed version for a time (UTC): what gvmd names feeds by. */
export function feedVersionOf(at: Date): string {
  return at.toISOString().replace(/[-T:]/g, '').slice(0, 12);
}

/** Docker's container states: running is fine, restarting is a warning, anything that is not running is down. */
export function containerLevel(state: string): Level {
  if (state === 'running') return 'ok';
  if (state === 'restarting' || state === 'paused' || state === 'created') return 'warning';
  return 'critical';
}

/** Docker's data filesystem: 80 % warning, 90 % critical (the built-in rules' defaults). */
export function dockerDataLevel(percent: number | null | undefined): Level {
  if (percent === null || percent === undefined) return 'unknown';
  return percent >= 90 ? 'critical' : percent >= 80 ? 'warning' : 'ok';
}

/** Redis's memory as a share of the host's RAM: 50 % warning, 75 % critical. */
export function redisMemoryLevel(percent: number | null | undefined): Level {
  if (percent === null || percent === undefined) return 'unknown';
  return percent >= 75 ? 'critical' : percent >= 50 ? 'warning' : 'ok';
}

export type TaskTone = 'ok' | 'warn' | 'bad' | 'neutral' | 'info';
const TASK_TONES: Record<string, TaskTone> = {
  Running: 'info',
  Done: 'ok',
  Requested: 'warn',
  Queued: 'warn',
  Processing: 'info',
  'Stop Requested': 'warn',
  Stopped: 'neutral',
  Interrupted: 'bad',
  New: 'neutral',
};
export function taskTone(status: string): TaskTone {
  return TASK_TONES[status] ?? 'neutral';
}

/**
 * How long a task has been in its state, judged like the built-in rules: `Requested` for 15 / 60
 * minutes (a scan gvmd could not hand to the scanner), `Running` with its progress frozen for 2
 * hours (a hanging scan); other states are not judged.
 */
export function taskStateLevel(state: { status: string; statusSince: string; progressChangedAt: string }, now: number): Level {
  const minutes = (since: string) => (now - Date.parse(since)) / 60_000;
  if (state.status === 'Requested') {
    const m = minutes(state.statusSince);
    return m >= 60 ? 'critical' : m >= 15 ? 'warning' : 'ok';
  }
  if (state.status === 'Running') return minutes(state.progressChangedAt) >= 120 ? 'warning' : 'ok';
  return 'unknown';
}

/** "1 h 5 m", "12 m", "40 s" for a duration in seconds. */
export function durationText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * A running scan's duration against the task's average: the seconds it has run, and whether it
 * has taken longer than the average (over: a scan that may hang), or null when it is not running.
 */
export function scanDuration(
  task: Pick<ScannerTask, 'currentScanStartedAt' | 'averageDurationSeconds'>,
  now: number,
): { seconds: number; average: number | null; over: boolean } | null {
  if (!task.currentScanStartedAt) return null;
  const started = Date.parse(task.currentScanStartedAt);
  if (Number.isNaN(started)) return null;
  const seconds = Math.max(0, (now - started) / 1000);
  const average = task.averageDurationSeconds ?? null;
  return { seconds, average, over: average !== null && average > 0 && seconds > average };
}

/** One timeline entry of a scanner's tab: a feed version that arrived, an alert opened or resolved. */
export interface TimelineEntry {
  at: string;
  kind: 'feed' | 'alert-opened' | 'alert-resolved';
  text: string;
  severity?: 'info' | 'warning' | 'critical';
  key: string;
}

/** Feed versions and scanner alerts together, newest first. */
export function scannerTimeline(
  feedVersions: ReadonlyArray<{ feedType: string; version: string; firstSeenAt: string }>,
  alerts: ReadonlyArray<{
    id: string;
    title: string;
    subject: string;
    severity: 'info' | 'warning' | 'critical';
    openedAt: string;
    resolvedAt: string | null;
  }>,
): TimelineEntry[] {
  const entries: TimelineEntry[] = feedVersions.map((f) => ({
    at: f.firstSeenAt,
    kind: 'feed',
    text: `${f.feedType} feed ${f.version}`,
    key: `feed:${f.feedType}:${f.version}`,
  }));
  for (const a of alerts) {
    const title = a.subject ? `${a.title} (${a.subject})` : a.title;
    entries.push({ at: a.openedAt, kind: 'alert-opened', text: title, severity: a.severity, key: `open:${a.id}` });
    if (a.resolvedAt)
      entries.push({ at: a.resolvedAt, kind: 'alert-resolved', text: title, severity: a.severity, key: `resolved:${a.id}` });
  }
  return entries.sort((x, y) => Date.parse(y.at) - Date.parse(x.at) || x.key.localeCompare(y.key));
}
