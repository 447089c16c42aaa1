import { z } from 'zod';
import { PageQuerySchema } from './common.js';
import { ScannerStatsSchema } from './scanner-stats.js';

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
});
export type ScannerRow = z.infer<typeof ScannerRowSchema>;

export const ScannerListQuerySchema = PageQuerySchema.extend({
  /** true: only scanners whose last report is stale; false: only fresh ones. */
  stale: z.enum(['true', 'false']).optional(),
}).strict();
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
