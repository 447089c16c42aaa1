import { Injectable } from '@nestjs/common';
import type { ScannerStats } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { ScannerFeedVersionEntity, ScannerTaskStateEntity } from './scanner-history.entity.js';

/** What successive reports tell beyond the latest one: task states over time, report counts, feed versions. */
@Injectable()
export class ScannerHistoryRepository {
  constructor(private readonly db: Database) {}

  /**
   * Folds one stored report (collected at `at`) into the history. A task keeps `status_since`
   * while its status stays, and `progress_changed_at` while its progress stays; tasks gone from
   * a complete list are dropped (a truncated or refused list drops nothing).
   */
  async record(deviceId: string, stats: ScannerStats, at: Date): Promise<void> {
    const m = this.db.manager();
    // A device's list could name a task or report twice; one statement may touch a row once.
    const tasks = firstOf(stats.tasks, (t) => t.id);
    if (tasks.length > 0) {
      // expected_run_at: the scheduled run the task owes. Once due it stays until the task starts
      // (gvmd's next_time moves on past a missed run); a start at or after it (a minute's slack)
      // or an active status pays it, and the next one is expected; no schedule, nothing owed.
      await m.query(
        `INSERT INTO scanner_task_states (device_id, task_id, status, status_since, progress, progress_changed_at, last_seen_at, expected_run_at)
         SELECT $1, t.id, t.status, $2, t.progress, $2, $2, t.next_run_at
           FROM unnest($3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::timestamptz[], $8::boolean[]) AS t(id, status, progress, next_run_at, started_at, active)
         ON CONFLICT (device_id, task_id) DO UPDATE SET
           status_since = CASE WHEN scanner_task_states.status IS DISTINCT FROM EXCLUDED.status THEN EXCLUDED.last_seen_at ELSE scanner_task_states.status_since END,
           progress_changed_at = CASE WHEN scanner_task_states.progress IS DISTINCT FROM EXCLUDED.progress THEN EXCLUDED.last_seen_at ELSE scanner_task_states.progress_changed_at END,
           expected_run_at = CASE
             WHEN EXCLUDED.expected_run_at IS NULL OR scanner_task_states.expected_run_at IS NULL THEN EXCLUDED.expected_run_at
             WHEN scanner_task_states.expected_run_at > EXCLUDED.last_seen_at THEN EXCLUDED.expected_run_at
             WHEN (SELECT a.active OR a.started_at >= scanner_task_states.expected_run_at - interval '1 minute'
                     FROM unnest($3::text[], $7::timestamptz[], $8::boolean[]) AS a(id, started_at, active) WHERE a.id = EXCLUDED.task_id LIMIT 1)
               THEN EXCLUDED.expected_run_at
             ELSE scanner_task_states.expected_run_at END,
           status = EXCLUDED.status, progress = EXCLUDED.progress, last_seen_at = EXCLUDED.last_seen_at`,
        [
          deviceId,
          at,
          tasks.map((t) => t.id),
          tasks.map((t) => t.status),
          tasks.map((t) => t.progress),
          tasks.map((t) => t.nextRunAt),
          tasks.map((t) => latest(t.currentScanStartedAt, t.lastReport?.scanStartedAt ?? null)),
          tasks.map((t) => ACTIVE.has(t.status)),
        ],
      );
    }
    // A list gvmd did not give (GMP down, or get_tasks refused) is empty, not complete: it drops nothing.
    if (!stats.tasksTruncated && stats.gmp.reachable && !stats.gmp.error) {
      await m.query(`DELETE FROM scanner_task_states WHERE device_id = $1 AND NOT (task_id = ANY($2::text[]))`, [
        deviceId,
        tasks.map((t) => t.id),
      ]);
    }
    const reports = firstOf(
      tasks.filter((t) => t.lastReport?.counts),
      (t) => t.lastReport!.id,
    );
    if (reports.length > 0) {
      await m.query(
        `INSERT INTO scanner_report_counts (device_id, report_id, task_id, scan_ended_at, counts, error_count)
         SELECT $1, r.report_id, r.task_id, r.ended_at, r.counts, r.errors
           FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::int[]) AS r(report_id, task_id, ended_at, counts, errors)
         ON CONFLICT (device_id, report_id) DO UPDATE SET error_count = COALESCE(scanner_report_counts.error_count, EXCLUDED.error_count)`,
        [
          deviceId,
          reports.map((t) => t.lastReport!.id),
          reports.map((t) => t.id),
          reports.map((t) => t.lastReport!.scanEndedAt),
          reports.map((t) => JSON.stringify(t.lastReport!.counts)),
          reports.map((t) => t.lastReport!.errorCount),
        ],
      );
    }
    const feeds = firstOf(
      stats.feeds.filter((f) => f.version),
      (f) => `${f.type}\n${f.version}`,
    );
    if (feeds.length > 0) {
      await m.query(
        `INSERT INTO scanner_feed_versions (device_id, feed_type, version, first_seen_at)
         SELECT $1, f.type, f.version, $2 FROM unnest($3::text[], $4::text[]) AS f(type, version)
         ON CONFLICT DO NOTHING`,
        [deviceId, at, feeds.map((f) => f.type), feeds.map((f) => f.version)],
      );
    }
  }

  taskStates(deviceId: string): Promise<ScannerTaskStateEntity[]> {
    return this.db
      .manager()
      .getRepository(ScannerTaskStateEntity)
      .find({ where: { deviceId }, order: { taskId: 'ASC' } });
  }

  /** The newest feed versions first (at most `limit`). */
  feedVersions(deviceId: string, limit: number): Promise<ScannerFeedVersionEntity[]> {
    return this.db
      .manager()
      .getRepository(ScannerFeedVersionEntity)
      .find({ where: { deviceId }, order: { firstSeenAt: 'DESC' }, take: limit });
  }
}

/** Statuses of a task whose run has begun (asked for, waiting for a slot, scanning, writing its report). */
const ACTIVE = new Set(['Requested', 'Queued', 'Running', 'Processing']);

function latest(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  return new Date(a) >= new Date(b) ? a : b;
}

function firstOf<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
