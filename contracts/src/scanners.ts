import { z } from 'zod';
import { PageQuerySchema } from './common.js';
import { ScannerStatsSchema } from './scanner-stats.js';
import { ScannerFeedScheduleSchema, ScannerReportSummarySchema } from './scanner-actions.js';

/**
 * The API's view of scanners' GMP reports (scanner-stats.ts): a fleet row per scanner and the
 * whole latest report of one. A report older than SCANNER_STATS_STALE_SECONDS (two of the
 * agent's 10-minute polls) is shown as stale.
 */
export const SCANNER_STATS_STALE_SECONDS = 20 * 60;

/** A feed version `YYYYMMDDhhmm` (as gvmd reports the NVT, SCAP and CERT feeds) as an ISO time, or null. */
export function feedVersionTime(version: string | null | undefined): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(version ?? '');
  if (!m) return null;
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi));
  // Date.UTC rolls 20261340 over into the next year: only a real calendar time counts.
  if (at.getUTCMonth() !== mo - 1 || at.getUTCDate() !== d || at.getUTCHours() !== h || at.getUTCMinutes() !== mi) return null;
  return at.toISOString();
}

export const ScannerRowSchema = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  organizationId: z.uuid(),
  siteId: z.uuid(),
  collectedAt: z.string(),
  receivedAt: z.string(),
  stale: z.boolean(),
  gmpReachable: z.boolean(),
  gmpError: z.string().nullable(),
  nvtFeedVersion: z.string().nullable(),
  /** From the NVT feed's version; null when it is not a YYYYMMDDhhmm time. */
  nvtFeedAt: z.string().nullable(),
  feedsSyncing: z.boolean(),
  tasksRunning: z.number().int(),
  tasksQueued: z.number().int(),
  // Issue 19's fleet view (each null when the report does not say).
  organizationName: z.string(),
  siteName: z.string(),
  gmpVersion: z.string().nullable(),
  /** Every feed gvmd reports: its version, the time it names, whether it syncs now. */
  feeds: z.array(z.object({ type: z.string(), version: z.string().nullable(), at: z.string().nullable(), syncing: z.boolean() })),
  /** The newest scan end among the tasks' last reports. */
  lastFinishedScanAt: z.string().nullable(),
  /** The soonest next scheduled run among the tasks. */
  nextRunAt: z.string().nullable(),
  /** Severity counts summed over reports that finished in the last 7 days (report-count history). */
  severityLastWeek: z.object({ critical: z.number().int(), high: z.number().int(), medium: z.number().int(), low: z.number().int() }),
  coreContainers: z.array(z.object({ service: z.string(), state: z.string() })),
  dockerDataUsedPercent: z.number().nullable(),
  redisMemoryPercent: z.number().nullable(),
  /** Core container image tags by service (the versions the fleet compares). */
  versions: z.record(z.string(), z.string()),
  /** Some core container runs an older image tag than the fleet's newest. */
  versionDrift: z.boolean(),
  /** Unresolved scanner alerts of this device by severity. */
  openAlerts: z.object({ critical: z.number().int(), warning: z.number().int(), info: z.number().int() }),
});
export type ScannerRow = z.infer<typeof ScannerRowSchema>;

/**
 * The fleet view's filters: `stale_feeds` (a feed past the warning age), `failing` (GMP
 * unreachable or refusing, scanner down, a core container not running, or a scanner alert
 * open), `idle` (no task running or queued and no scan finished in 8 days), `version_drift`.
 */
export const SCANNER_LIST_FILTERS = ['stale_feeds', 'failing', 'idle', 'version_drift'] as const;

export const ScannerListQuerySchema = PageQuerySchema.extend({
  /** true: only scanners whose last report is stale; false: only fresh ones. */
  stale: z.enum(['true', 'false']).optional(),
  filter: z.enum(SCANNER_LIST_FILTERS).optional(),
  organizationId: z.uuid().optional(),
  siteId: z.uuid().optional(),
}).strict();

/**
 * Default feed age thresholds in hours (the built-in scanner rules' and the console's colours):
 * NVT 3 / 7 days, SCAP and CERT 7 / 14 days.
 */
export const SCANNER_FEED_AGE_HOURS = {
  NVT: { warning: 72, critical: 168 },
  SCAP: { warning: 168, critical: 336 },
  CERT: { warning: 168, critical: 336 },
} as const;
export type ScannerListQuery = z.infer<typeof ScannerListQuerySchema>;
export const ScannerPageSchema = z.object({
  items: z.array(ScannerRowSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const ScannerSnapshotSchema = z.object({
  deviceId: z.uuid(),
  collectedAt: z.string(),
  receivedAt: z.string(),
  stale: z.boolean(),
  /** Per feed type, the time its version names (age is now minus this). */
  feedTimes: z.record(z.string(), z.string().nullable()),
  /** Each task's status since when, and when its progress last moved (across reports). */
  taskStates: z.array(
    z.object({
      taskId: z.string(),
      status: z.string(),
      statusSince: z.string(),
      progress: z.number().int().nullable(),
      progressChangedAt: z.string(),
    }),
  ),
  /** Feed versions as they arrived, newest first (at most 50). */
  feedVersions: z.array(z.object({ feedType: z.string(), version: z.string(), firstSeenAt: z.string() })),
  stats: ScannerStatsSchema,
});
export type ScannerSnapshot = z.infer<typeof ScannerSnapshotSchema>;

/** `POST devices/:id/scanner/report-summaries` answers with the command; the summary arrives as its result. */
export const ScannerReportSummaryViewSchema = z.object({
  commandId: z.uuid(),
  deviceId: z.uuid(),
  reportId: z.string(),
  status: z.string().describe('the command status (queued … succeeded, failed)'),
  requestedBy: z.string(),
  requestedAt: z.string(),
  /** When the API forgets the summary (24 h after it arrived). */
  expiresAt: z.string().nullable(),
  summary: ScannerReportSummarySchema.nullable(),
  /** Why there is no summary (the agent's error), when the command failed. */
  error: z.string().nullable(),
});
export type ScannerReportSummaryView = z.infer<typeof ScannerReportSummaryViewSchema>;

/** `GET/PUT sites/:id/scanner-feed-schedule`: the schedule (null: none) and when its next run falls. */
export const ScannerFeedScheduleViewSchema = z.object({
  siteId: z.uuid(),
  schedule: ScannerFeedScheduleSchema.nullable(),
  /** The next scheduled time before jitter (UTC), or null when disabled or none. */
  nextRunAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type ScannerFeedScheduleView = z.infer<typeof ScannerFeedScheduleViewSchema>;
