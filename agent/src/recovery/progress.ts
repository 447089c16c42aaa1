import type { RecoveryProgress } from '@xspectre/contracts';

export type ProgressPhase = RecoveryProgress['phase'];
export interface ProgressSample {
  phase: ProgressPhase;
  bytesDone: number;
  bytesTotal: number;
  rateBytesPerSecond: number;
  etaSeconds: number | null;
}

/**
 * Turns byte counts into (bytes, rate, ETA) samples, at most one per `intervalMs` (the last one
 * of a phase — bytesDone = bytesTotal — always passes). The rate is the average since the phase
 * started: steady over a long image, where a sliding window would jump with each chunk.
 */
export class ProgressMeter {
  private startedAt = 0;
  private startedBytes = 0;
  private lastEmit = Number.NEGATIVE_INFINITY;
  private phase: ProgressPhase | undefined;

  constructor(
    private readonly emit: (sample: ProgressSample) => void,
    private readonly now: () => number = () => Date.now(),
    private readonly intervalMs = 1000,
  ) {}

  update(phase: ProgressPhase, bytesDone: number, bytesTotal: number): void {
    const t = this.now();
    if (phase !== this.phase) {
      this.phase = phase;
      this.startedAt = t;
      this.startedBytes = bytesDone;
      this.lastEmit = Number.NEGATIVE_INFINITY;
    }
    const final = bytesDone >= bytesTotal;
    if (!final && t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    const seconds = (t - this.startedAt) / 1000;
    const rate = seconds > 0 ? Math.max(0, (bytesDone - this.startedBytes) / seconds) : 0;
    const left = Math.max(0, bytesTotal - bytesDone);
    const eta = final ? 0 : rate > 0 ? Math.min(365 * 24 * 3600, left / rate) : null;
    this.emit({
      phase,
      bytesDone: Math.min(bytesDone, bytesTotal),
      bytesTotal,
      rateBytesPerSecond: Math.min(1e12, Math.round(rate)),
      etaSeconds: eta === null ? null : Math.round(eta),
    });
  }
}
