import { BACKUP_PROGRESS_INTERVAL_SECONDS, type BackupProgress as ProgressReport } from '@xspectre/contracts';
import type { BackupProgress as ResticLine } from './restic-progress.js';

export type BackupPhase = ProgressReport['phase'];

const MAX_SECONDS = 10 * 24 * 3600;
const count = (n: number) => Math.min(Math.max(Math.trunc(n), 0), Number.MAX_SAFE_INTEGER);

/** The contract's progress for a restic status line (or the start of a phase, when `line` is absent). */
export function progressReport(phase: BackupPhase, line?: Extract<ResticLine, { type: 'status' }>): ProgressReport {
  return {
    phase,
    percentDone: Math.min(Math.max(line?.percentDone ?? 0, 0), 1),
    filesDone: count(line?.filesDone ?? 0),
    totalFiles: count(line?.totalFiles ?? 0),
    bytesDone: count(line?.bytesDone ?? 0),
    totalBytes: count(line?.totalBytes ?? 0),
    secondsElapsed: Math.min(line?.secondsElapsed ?? 0, MAX_SECONDS),
    secondsRemaining: null,
  };
}

/**
 * Posts a run's progress at most once per interval (BACKUP_PROGRESS_INTERVAL_SECONDS): the
 * latest report waits for the interval to pass, earlier ones it replaces are never sent. A post
 * that fails is dropped (counted): progress never fails a run.
 */
export class ProgressThrottle {
  private last = -Infinity;
  private pending: ProgressReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  /** Posts that failed (the API refused or was unreachable). */
  dropped = 0;

  constructor(
    private readonly post: (progress: ProgressReport) => Promise<void>,
    private readonly intervalMs = BACKUP_PROGRESS_INTERVAL_SECONDS * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  update(progress: ProgressReport): void {
    if (this.closed) return;
    this.pending = progress;
    if (this.timer) return;
    const wait = this.last + this.intervalMs - this.now();
    if (wait <= 0) this.send();
    else this.timer = setTimeout(() => this.send(), wait);
  }

  /** Drops what waits and lets posts under way end. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    await Promise.all(this.inFlight);
  }

  private send(): void {
    this.timer = undefined;
    const progress = this.pending;
    this.pending = undefined;
    if (!progress || this.closed) return;
    this.last = this.now();
    const posting: Promise<void> = this.post(progress)
      .catch(() => void (this.dropped += 1))
      .finally(() => this.inFlight.delete(posting));
    this.inFlight.add(posting);
  }
}
