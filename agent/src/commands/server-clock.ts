/**
 * The agent's estimate of the API's clock: the local clock plus the offset seen in the last
 * server time (a heartbeat ack or a poll answer). A device whose own clock is wrong (no NTP,
 * a reset RTC) still judges a command's validity window by the clock that signed it; the
 * verification then tolerates only a small skew (DEFAULT_MAX_CLOCK_SKEW_MS).
 */
export class ServerClock {
  private offsetMs = 0;

  constructor(
    private readonly localNow: () => Date = () => new Date(),
    /** The last acknowledgement in state.json, so the offset is known before the first answer. */
    last?: { serverTime?: string | undefined; at: string } | null,
  ) {
    if (last?.serverTime) this.observe(last.serverTime, new Date(last.at));
  }

  /** Takes the offset from a server time received at `receivedAt` (default: now). Ignores a value that is not a time. */
  observe(serverTime: string, receivedAt: Date = this.localNow()): void {
    const server = Date.parse(serverTime);
    const local = receivedAt.getTime();
    if (Number.isFinite(server) && Number.isFinite(local)) this.offsetMs = server - local;
  }

  get offset(): number {
    return this.offsetMs;
  }

  now(): Date {
    return new Date(this.localNow().getTime() + this.offsetMs);
  }
}
