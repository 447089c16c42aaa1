import { MAX_REPORT_SUMMARY_FINDINGS, ScannerReportSummarySchema, type ScannerReportSummary } from '@xspectre/contracts';
import { DEFAULT_COMMAND_TIMEOUT_MS, GmpConnection, type GmpAnswer } from '../gmp/client.js';
import { GmpError } from '../gmp/errors.js';
import { attr, child, childText, children, textOf } from '../gmp/nodes.js';
import { clip, count, isoTime, readSeverityCounts } from '../gmp/readers.js';
import { authenticateCommand, gmpElement, type GmpAttributes } from '../gmp/request.js';
import type { GmpElement } from '../gmp/xml.js';

/**
 * `scanner.report-summary`: one report's counts and its top findings by severity, read over GMP
 * as the monitor account. Results are read page by page (severity first, bounded) and folded into
 * one line per NVT with the number of hosts it was found on; host addresses, ports and result
 * text are read only to count hosts and never copied into the summary, which is built from an
 * allow-list of fields and checked against ScannerReportSummarySchema.
 */

/** Results read at most (severity first): enough for the top findings of any real report. */
export const MAX_RESULTS_READ = 2_000;
const PAGE_ROWS = 250;
/** gvmd's defaults in its web UI: overrides applied, quality of detection ≥ 70 %. */
const RESULT_FILTER = 'apply_overrides=1 min_qod=70 severity>0.0 sort-reverse=severity';

export interface ResultRow {
  nvtOid: string;
  name: string;
  severity: number;
  /** Only to count distinct hosts; never leaves this module. */
  host: string;
}

const severityOf = (value: string | undefined): number | null => {
  const text = value?.trim();
  if (!text || !/^-?\d{1,2}(\.\d{1,3})?$/.test(text)) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
};

/** get_results' `<result>` elements → rows (results without an NVT oid, or not positive in severity, are skipped). */
export function readResultRows(root: GmpElement): ResultRow[] {
  return children(root, 'result').flatMap((result): ResultRow[] => {
    const nvt = child(result, 'nvt');
    const nvtOid = clip(attr(nvt, 'oid'), 128);
    const severity = severityOf(childText(result, 'severity')) ?? severityOf(childText(nvt, 'severity'));
    if (nvtOid === null || severity === null || severity <= 0) return [];
    const host = textOf(child(result, 'host'))?.trim() ?? '';
    const name = clip(childText(nvt, 'name'), 400) ?? clip(childText(result, 'name'), 400) ?? nvtOid;
    return [{ nvtOid, name, severity: Math.min(severity, 10), host }];
  });
}

export interface Finding {
  nvtOid: string;
  name: string;
  severity: number;
  hosts: number;
}

/** One finding per NVT: its highest severity and the number of distinct hosts; by severity, then hosts, then oid. */
export function topFindings(rows: readonly ResultRow[], max: number): Finding[] {
  const byOid = new Map<string, { name: string; severity: number; hosts: Set<string> }>();
  for (const row of rows) {
    const entry = byOid.get(row.nvtOid) ?? { name: row.name, severity: row.severity, hosts: new Set<string>() };
    entry.severity = Math.max(entry.severity, row.severity);
    if (row.host !== '') entry.hosts.add(row.host);
    byOid.set(row.nvtOid, entry);
  }
  return [...byOid.entries()]
    .map(([nvtOid, e]) => ({ nvtOid, name: e.name, severity: e.severity, hosts: e.hosts.size }))
    .sort((a, b) => b.severity - a.severity || b.hosts - a.hosts || a.nvtOid.localeCompare(b.nvtOid))
    .slice(0, Math.max(0, Math.min(max, MAX_REPORT_SUMMARY_FINDINGS)));
}

export interface ReportHead {
  taskName: string | null;
  scanStartedAt: string | null;
  scanEndedAt: string | null;
  counts: ScannerReportSummary['counts'];
  hostCount: number | null;
}

/** get_reports (one report): task name, scan times, counts by severity (`full`), number of hosts. */
export function readReportHead(root: GmpElement): ReportHead {
  const outer = child(root, 'report');
  const inner = child(outer, 'report') ?? outer;
  const taskName = clip(childText(child(inner, 'task'), 'name') ?? childText(child(outer, 'task'), 'name'), 200);
  const hosts = child(inner, 'hosts');
  return {
    taskName,
    scanStartedAt: isoTime(childText(inner, 'scan_start')),
    scanEndedAt: isoTime(childText(inner, 'scan_end')),
    counts: readSeverityCounts(child(inner, 'result_count')),
    hostCount: count(childText(hosts, 'count')) ?? null,
  };
}

export function buildReportSummary(
  reportId: string,
  head: ReportHead,
  rows: readonly ResultRow[],
  maxFindings: number,
): ScannerReportSummary {
  return ScannerReportSummarySchema.parse({
    reportId,
    taskName: head.taskName,
    scanStartedAt: head.scanStartedAt,
    scanEndedAt: head.scanEndedAt,
    counts: head.counts,
    hostCount: head.hostCount,
    topFindings: topFindings(rows, maxFindings),
  });
}

export interface ReportSummaryOptions {
  socketPath: string;
  username: string;
  password: string;
  reportId: string;
  maxFindings: number;
  commandTimeoutMs?: number;
  /** Results read at most (default MAX_RESULTS_READ). */
  maxResults?: number;
}

/** Reads the summary in one GMP session; GmpError (typed) when gvmd refuses or is not there. */
export async function fetchReportSummary(options: ReportSummaryOptions): Promise<ScannerReportSummary> {
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const connection = await GmpConnection.connect({ socketPath: options.socketPath });
  try {
    const send = (command: string, attributes: GmpAttributes): Promise<GmpAnswer> =>
      connection.send(command, gmpElement(command, attributes), timeout);
    await connection.send('authenticate', authenticateCommand(options.username, options.password), timeout);
    // The report id goes in its own attribute (escaped); the filter holds no caller text but it too.
    const head = readReportHead(
      (
        await send('get_reports', {
          report_id: options.reportId,
          details: true,
          ignore_pagination: false,
          filter: 'apply_overrides=1 min_qod=70 rows=1 first=1',
        })
      ).root,
    );
    const rows: ResultRow[] = [];
    const max = Math.max(1, Math.min(options.maxResults ?? MAX_RESULTS_READ, MAX_RESULTS_READ));
    for (let first = 1; rows.length < max;) {
      const rowsWanted = Math.min(PAGE_ROWS, max - rows.length);
      const answer = await send('get_results', {
        filter: `report_id=${options.reportId} ${RESULT_FILTER} first=${first} rows=${rowsWanted}`,
        details: false,
      });
      const page = children(answer.root, 'result').length;
      rows.push(...readResultRows(answer.root));
      first += page;
      if (page < rowsWanted) break;
    }
    return buildReportSummary(options.reportId, head, rows, options.maxFindings);
  } finally {
    connection.close();
  }
}

/** Why the summary could not be read, for the command's reason (never the password, never result data). */
export function reportSummaryFailure(err: unknown, reportId: string): string {
  if (err instanceof GmpError) {
    if (err.status === '404' || /failed to find/i.test(err.message)) return `gvmd has no report ${reportId}`;
    if (err.code === 'auth_failed') return 'gvmd refused the monitor account (authentication failed): provision it again';
    if (err.code === 'permission') return `the monitor account may not read report ${reportId}`;
    return `GMP ${err.code}: ${err.message}`.slice(0, 500);
  }
  return `report summary failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
}
