/** The longest a view waits between refetches while live messages keep coming. */
export const REFETCH_MAX_INTERVAL_MS = 10_000;

export interface RefetchScheduleOptions {
  /** The delay after the first message of a burst, and the interval again once the stream was quiet. */
  baseMs: number;
  /** The interval doubles from baseMs up to this while messages keep coming. */
  maxMs?: number;
  /** No message for this long ends a burst: the next one waits baseMs again. Defaults to maxMs. */
  quietMs?: number;
  /** A hidden tab refetches nothing: the run waits for `visible()`. */
  isHidden?: () => boolean;
}

/**
 * When a view refetches what live messages told it is stale. `request()` joins a pending run or
 * schedules one `interval` ahead, so the action runs at most once per interval; while requests
 * keep coming (less than quietMs apart) each new interval doubles, up to maxMs, so a fleet-wide
 * burst lasting minutes costs a view a few refetches a minute instead of one per base delay. A
 * hidden tab owes one run and makes it once visible. `resync()` (after a reconnect) runs once at
 * once, taking any pending run with it.
 */
export class RefetchSchedule {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly quietMs: number;
  private readonly isHidden: () => boolean;
  private intervalMs: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private lastRunAt = Number.NEGATIVE_INFINITY;
  /** A run is owed to a tab that was hidden when it was due. */
  private owed = false;

  constructor(
    private readonly action: () => void,
    options: RefetchScheduleOptions,
  ) {
    this.baseMs = options.baseMs;
    this.maxMs = Math.max(options.maxMs ?? REFETCH_MAX_INTERVAL_MS, options.baseMs);
    this.quietMs = options.quietMs ?? this.maxMs;
    this.isHidden = options.isHidden ?? (() => false);
    this.intervalMs = this.baseMs;
  }

  /** The current interval (for tests and diagnostics). */
  get interval(): number {
    return this.intervalMs;
  }

  /** A live message says the view may be stale. */
  request(): void {
    const now = Date.now();
    const streaming = now - this.lastRequestAt < this.quietMs;
    this.lastRequestAt = now;
    if (this.timer || this.owed) return;
    if (this.isHidden()) {
      this.owed = true;
      return;
    }
    this.intervalMs = streaming ? Math.min(this.intervalMs * 2, this.maxMs) : this.baseMs;
    this.arm(this.intervalMs);
  }

  /** After a reconnect (messages were missed): one run now, which also stands for any pending one. */
  resync(): void {
    this.clearTimer();
    if (this.isHidden()) {
      this.owed = true;
      return;
    }
    this.owed = false;
    this.arm(0);
  }

  /** The tab became visible: a run owed meanwhile happens, no sooner than an interval after the last one. */
  visible(): void {
    if (!this.owed || this.timer) return;
    this.owed = false;
    this.arm(Math.max(0, this.lastRunAt + this.intervalMs - Date.now()));
  }

  /** Drops a pending or owed run (the view unmounted); the schedule stays usable. */
  cancel(): void {
    this.clearTimer();
    this.owed = false;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.fire(), delayMs);
  }

  private fire(): void {
    this.timer = null;
    if (this.isHidden()) {
      this.owed = true;
      return;
    }
    this.lastRunAt = Date.now();
    this.action();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
