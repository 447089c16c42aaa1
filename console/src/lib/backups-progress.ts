import type { BackupProgress } from '@xspectre/contracts';

/**
 * A running backup's or restore's progress as the device tab shows it: percent, files, bytes and
 * the time left (restic's estimate, counted down from when it was reported).
 */

/** "1 h 05 m", "4 m 10 s", "12 s". */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} m`;
  if (m > 0) return `${m} m ${String(rest).padStart(2, '0')} s`;
  return `${rest} s`;
}

export interface ProgressView {
  /** 0–100, whole percent, for the bar. */
  percent: number;
  phase: BackupProgress['phase'];
  files: string;
  bytes: string;
  /** "about 4 m 10 s left", "almost done", or null when restic has no estimate. */
  eta: string | null;
}

/**
 * What the bar shows: `now` counts restic's estimate down from `reportedAt` (never below 0) so the
 * time left moves between reports; a report older than the estimate reads "almost done".
 */
export function progressView(
  progress: BackupProgress,
  reportedAt: string | null,
  now: number,
  formatBytes: (n: number) => string,
): ProgressView {
  const percent = Math.max(0, Math.min(100, Math.floor(progress.percentDone * 100)));
  const files = progress.totalFiles > 0 ? `${progress.filesDone} of ${progress.totalFiles} files` : `${progress.filesDone} files`;
  const bytes =
    progress.totalBytes > 0 ? `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.totalBytes)}` : formatBytes(progress.bytesDone);
  let eta: string | null = null;
  if (progress.secondsRemaining !== null) {
    const since = reportedAt ? Math.max(0, (now - Date.parse(reportedAt)) / 1000) : 0;
    const left = progress.secondsRemaining - (Number.isFinite(since) ? since : 0);
    eta = left >= 1 ? `about ${durationText(left)} left` : 'almost done';
  }
  return { percent, phase: progress.phase, files, bytes, eta };
}
