import type { ScannerFeed, ScannerTask, SeverityCounts } from '@xspectre/contracts';
import { attr, child, childText, children, textOf } from './nodes.js';
import { nextScheduledRun } from './schedule.js';
import type { GmpElement, GmpNode } from './xml.js';

/**
 * Version-tolerant readers of gvmd's answers (gvmd 22.4 to current). Fields are read by
 * presence, never by the GMP version string: gvmd 24.2 replaced hole/warning/info by
 * high/medium/low in get_tasks while GMP still said 22.5, and it sends both (the old ones marked
 * deprecated, with the same numbers), so the new name wins and the two are never added.
 *
 * Each reader builds its result from an allow-list of fields: no parsed object is spread into
 * the output, so hosts, ports, NVT names or results that gvmd sends beside them never leave.
 */

/** Text for the contract: control characters out, whitespace collapsed, cut to `max` without splitting a surrogate pair. */
export function clip(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  const text = value
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return null;
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** A non-negative integer count; undefined for anything else (missing, empty, -1, 1e3, 0x10). */
export function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number(value.trim());
}

/** A count element: a plain number (get_tasks) or `<full>` inside it (get_reports' result_count). */
function countOf(node: GmpNode | undefined): number | undefined {
  if (node === undefined) return undefined;
  return count(child(node, 'full') !== undefined ? childText(node, 'full') : textOf(node));
}

const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** gvmd's times (`2024-05-01T10:00:00Z`, `+02:00` offsets, empty when none) as ISO 8601 UTC, or null. */
export function isoTime(value: string | undefined): string | null {
  const text = value?.trim();
  if (!text || !ISO.test(text)) return null;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export function readGmpVersion(root: GmpElement): string | null {
  return clip(childText(root, 'version'), 32);
}

/** get_features: `<feature enabled="1"><name>…</name></feature>` (gvmd 23.8 and later). */
export function readFeatures(root: GmpElement): Array<{ name: string; enabled: boolean }> {
  return children(root, 'feature')
    .slice(0, 64)
    .flatMap((feature) => {
      const name = clip(childText(feature, 'name'), 64);
      return name === null ? [] : [{ name, enabled: attr(feature, 'enabled') === '1' }];
    });
}

const flag = (value: string | undefined): boolean | null => (value === undefined ? null : value.trim() === '1');

export function readFeeds(root: GmpElement): { feedOwnerSet: boolean | null; feeds: ScannerFeed[] } {
  const feeds = children(root, 'feed')
    .slice(0, 16)
    .flatMap((feed): ScannerFeed[] => {
      const type = clip(childText(feed, 'type'), 32);
      if (type === null) return [];
      const syncing = child(feed, 'currently_syncing');
      const unavailable = child(feed, 'sync_not_available');
      return [
        {
          type,
          version: clip(childText(feed, 'version'), 64),
          isSyncing: syncing !== undefined,
          syncingSince: isoTime(childText(syncing, 'timestamp')),
          syncError: unavailable === undefined ? null : (clip(childText(unavailable, 'error'), 500) ?? 'sync not available'),
        },
      ];
    });
  return { feedOwnerSet: flag(childText(root, 'feed_owner_set')), feeds };
}

export interface ScannerListed {
  id: string;
  name: string;
  type: string | null;
}

/** get_scanners: id, name and type only (never host, port, CA or credential). */
export function readScanners(root: GmpElement): ScannerListed[] {
  return children(root, 'scanner')
    .slice(0, 64)
    .flatMap((scanner) => {
      const id = clip(attr(scanner, 'id'), 64);
      if (id === null) return [];
      return [{ id, name: clip(childText(scanner, 'name'), 200) ?? '', type: clip(childText(scanner, 'type'), 16) }];
    });
}

/** verify_scanner's `<version>`. */
export function readScannerVersion(root: GmpElement): string | null {
  return clip(childText(root, 'version'), 64);
}

/** Severity counts by presence: new name, else the deprecated one, never both added. */
export function readSeverityCounts(resultCount: GmpNode | undefined): SeverityCounts | null {
  if (resultCount === undefined) return null;
  const pick = (name: string, deprecated?: string) =>
    countOf(child(resultCount, name)) ?? (deprecated === undefined ? undefined : countOf(child(resultCount, deprecated)));
  return {
    critical: pick('critical') ?? null,
    high: pick('high', 'hole') ?? 0,
    medium: pick('medium', 'warning') ?? 0,
    low: pick('low', 'info') ?? 0,
    log: pick('log') ?? 0,
    falsePositive: pick('false_positive') ?? 0,
  };
}

/** `<x_count>TOTAL<filtered>N</filtered><page>N</page></x_count>` of a get_x answer. */
export function readTotal(root: GmpElement, kind: string): number | null {
  const node = child(root, `${kind}_count`);
  return count(textOf(node)) ?? count(childText(node, 'filtered')) ?? null;
}

export function readTask(task: GmpNode, now: Date): ScannerTask | null {
  const id = clip(attr(task, 'id'), 64);
  if (id === null) return null;
  const progress = count(childText(task, 'progress'));
  const currentReport = child(child(task, 'current_report'), 'report');
  const lastReport = child(child(task, 'last_report'), 'report');
  const lastReportId = clip(attr(lastReport, 'id'), 64);
  const schedule = child(task, 'schedule');
  const scheduled = clip(attr(schedule, 'id'), 64) !== null && childText(schedule, 'trash') !== '1';
  return {
    id,
    name: clip(childText(task, 'name'), 200) ?? '',
    status: clip(childText(task, 'status'), 40) ?? 'Unknown',
    progress: progress === undefined ? null : Math.min(progress, 100),
    currentScanStartedAt: isoTime(childText(currentReport, 'scan_start')),
    averageDurationSeconds: count(childText(task, 'average_duration')) ?? null,
    nextRunAt: scheduled ? nextScheduledRun(childText(schedule, 'icalendar'), now) : null,
    lastReport:
      lastReportId === null
        ? null
        : {
            id: lastReportId,
            scanStartedAt: isoTime(childText(lastReport, 'scan_start')),
            scanEndedAt: isoTime(childText(lastReport, 'scan_end')),
            counts: readSeverityCounts(child(lastReport, 'result_count')),
            errorCount: null,
          },
  };
}

export function readTasks(root: GmpElement, now: Date): ScannerTask[] {
  return children(root, 'task').flatMap((task) => readTask(task, now) ?? []);
}

/** get_reports (one report, details=0): `<report><report><errors><count>`. */
export function readReportErrorCount(root: GmpElement): number | null {
  const outer = child(root, 'report');
  const inner = child(outer, 'report') ?? outer;
  return count(childText(child(inner, 'errors'), 'count')) ?? null;
}
