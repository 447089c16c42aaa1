import { z } from 'zod';
import { SeverityCountsSchema } from './scanner-stats.js';

/**
 * What an operator can ask of a scanner's Greenbone installation (signed commands, carried out
 * by the agent through Docker and gvmd's own command line on the device; api/src/scanners), the
 * per-site feed update schedule, and the one-off report summary (results leave the site only
 * when asked, by a holder of `scanner_results.view` with step-up, and are kept 24 hours).
 */

/** The core services an operator may restart. */
export const RESTARTABLE_SCANNER_SERVICES = ['gvmd', 'ospd-openvas'] as const;

export const ScannerRefreshParamsSchema = z.object({}).strict();
export const ScannerRestartParamsSchema = z.object({ service: z.enum(RESTARTABLE_SCANNER_SERVICES) }).strict();
/**
 * Pull the feed data images and recreate their containers (the vendor's "update feeds" steps),
 * then restart what reads them. `pruneOldImages`: remove the feed data images this replaced.
 */
export const ScannerFeedUpdateParamsSchema = z.object({ pruneOldImages: z.boolean().default(true) }).strict();
/**
 * Create (or reset) the least-privilege `xspectre-monitor` gvmd user with gvmd's own command line
 * inside its container, store its secret root-only on the device, and check once whether
 * `admin`/`admin` still works. Critical: Super Admin with step-up.
 */
export const ScannerProvisionMonitorParamsSchema = z.object({}).strict();

/** gvmd's report ids are UUIDs. */
export const GmpReportIdSchema = z.uuid({ error: 'a report id (UUID) as gvmd shows it' });
export const MAX_REPORT_SUMMARY_FINDINGS = 50;
/** Queued only by the API (POST devices/:id/scanner/report-summaries). */
export const ScannerReportSummaryParamsSchema = z
  .object({
    reportId: GmpReportIdSchema,
    maxFindings: z.number().int().min(1).max(MAX_REPORT_SUMMARY_FINDINGS).default(20),
  })
  .strict();
export const ScannerReportSummaryRequestSchema = ScannerReportSummaryParamsSchema;
export type ScannerReportSummaryRequest = z.infer<typeof ScannerReportSummaryRequestSchema>;

const Text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/**
 * The agent's answer to `scanner.report-summary` (its last stdout line): counts and the top
 * findings by severity, each an NVT with how many hosts it was found on; no host addresses, no
 * ports, no result text.
 */
export const ScannerReportSummarySchema = z
  .object({
    reportId: GmpReportIdSchema,
    taskName: Text(200).nullable(),
    scanStartedAt: z.iso.datetime({ offset: true }).nullable(),
    scanEndedAt: z.iso.datetime({ offset: true }).nullable(),
    counts: SeverityCountsSchema.nullable(),
    hostCount: z.number().int().min(0).nullable(),
    topFindings: z
      .array(
        z
          .object({
            nvtOid: Text(128),
            name: Text(400),
            severity: z.number().finite().min(0).max(10),
            hosts: z.number().int().min(0),
          })
          .strict(),
      )
      .max(MAX_REPORT_SUMMARY_FINDINGS),
  })
  .strict();
export type ScannerReportSummary = z.infer<typeof ScannerReportSummarySchema>;

/** How long the API keeps a report summary (and the command output carrying it). */
export const REPORT_SUMMARY_RETENTION_SECONDS = 24 * 3600;

/**
 * A site's feed update schedule: on the given weekdays (0 = Sunday, UTC) at `hourUtc`, plus a
 * random delay of up to `jitterMinutes` per scanner so a site's scanners do not all pull at once.
 */
export const ScannerFeedScheduleSchema = z
  .object({
    enabled: z.boolean(),
    weekdays: z
      .array(z.number().int().min(0).max(6))
      .min(1, 'name at least one weekday')
      .max(7)
      .refine((d) => new Set(d).size === d.length, 'each weekday once'),
    hourUtc: z.number().int().min(0).max(23),
    jitterMinutes: z.number().int().min(0).max(240),
    pruneOldImages: z.boolean().default(true),
  })
  .strict();
export type ScannerFeedSchedule = z.infer<typeof ScannerFeedScheduleSchema>;
