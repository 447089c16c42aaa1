import { TickBatcher } from '../common/batching/tick-batcher.js';

/** How long "no open commands" is believed without asking again: bounds a lost wake-up. */
export const IDLE_HINT_MS = 300_000;
/** Wake-ups remembered this long: only counts already in flight when one came need them. */
const WAKE_MEMORY_MS = 60_000;
/** Bound on remembered devices: a fleet fits; beyond it the oldest are asked again. */
const MAX_ENTRIES = 100_000;

/**
 * What a heartbeat ack says of the device's open commands (`pendingCommands`), without a query
 * per heartbeat: most devices have none most of the time, so a count of 0 is remembered until a
 * wake-up for the device arrives (every queued command publishes one to every instance,
 * api/src/commands/command-wakeups.ts) or IDLE_HINT_MS passes. A non-zero count is never
 * remembered: those devices are about to poll. The count is a hint for an agent whose long poll
 * may be broken, never the delivery itself (the poll reads the queue), so a lost wake-up delays
 * only that hint, by IDLE_HINT_MS at most. Counts asked for in one tick share one query.
 */
export class OpenCommandHints {
  private readonly counts: TickBatcher<string, number>;
  /** Devices last counted at 0: when that count's query started. */
  private readonly idleSince = new Map<string, number>();
  private readonly wokenAt = new Map<string, number>();

  constructor(
    count: (deviceIds: string[]) => Promise<Map<string, number>>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.counts = new TickBatcher(count, 0);
  }

  async pendingCount(deviceId: string): Promise<number> {
    const idle = this.idleSince.get(deviceId);
    if (idle !== undefined && this.now() - idle < IDLE_HINT_MS) return 0;
    this.idleSince.delete(deviceId);
    const started = this.now();
    const n = await this.counts.get(deviceId);
    // A wake-up that came while the count ran may be for a command the count did not see.
    if (n === 0 && (this.wokenAt.get(deviceId) ?? -Infinity) < started) {
      if (this.idleSince.size >= MAX_ENTRIES) this.idleSince.delete(this.idleSince.keys().next().value!);
      this.idleSince.set(deviceId, started);
    }
    return n;
  }

  /** A command was queued for the device (on any instance): its next ack asks the database. */
  woke(deviceId: string): void {
    this.idleSince.delete(deviceId);
    const now = this.now();
    this.wokenAt.set(deviceId, now);
    if (this.wokenAt.size > 1_000) for (const [id, at] of this.wokenAt) if (now - at > WAKE_MEMORY_MS) this.wokenAt.delete(id);
  }
}
