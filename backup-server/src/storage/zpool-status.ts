import type { BackupScrubResult } from '@xspectre/contracts';

/**
 * Reads the scrub line of `zpool status <pool>`: `scrub:` in zfs-fuse's old ZFS, `scan:` in
 * OpenZFS. Times there are the server's local time (`Fri Dec  4 03:55:57 2026`).
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function parseZpoolTime(text: string): string | null {
  const m = /^\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$/.exec(text.trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!);
  if (month === -1) return null;
  const date = new Date(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export function parseScrubStatus(output: string): BackupScrubResult {
  const line = /^\s*(?:scan|scrub):\s*(.*)$/m.exec(output)?.[1]?.trim() ?? '';
  const errors = /with (\d+) errors?/.exec(line);
  const errorCount = errors ? Number(errors[1]) : null;
  if (/^scrub (?:in progress|paused)/.test(line)) return { state: 'in_progress', finishedAt: null, errors: null };
  const finished = /^scrub (?:completed|repaired).* on (.+)$/.exec(line);
  if (finished) return { state: 'finished', finishedAt: parseZpoolTime(finished[1]!), errors: errorCount };
  const canceled = /^scrub (?:canceled|stopped).* on (.+)$/.exec(line);
  if (canceled) return { state: 'canceled', finishedAt: parseZpoolTime(canceled[1]!), errors: errorCount };
  // "none requested", a resilver, or a format we do not know: no scrub to report.
  return { state: 'none', finishedAt: null, errors: null };
}

/** Whether a new scrub is due: none running and the last one ended `intervalDays` ago (or never). */
export function isScrubDue(last: BackupScrubResult, now: Date, intervalDays: number): boolean {
  if (last.state === 'in_progress') return false;
  if (last.finishedAt === null) return true;
  return now.getTime() - Date.parse(last.finishedAt) >= intervalDays * 86_400_000;
}
