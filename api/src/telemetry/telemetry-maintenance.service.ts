import { Injectable } from '@nestjs/common';
import { ConnectivityRepository } from './connectivity.repository.js';
import { MetricPartitionsRepository } from './metric-partitions.repository.js';
import { MetricRollupsRepository } from './metric-rollups.repository.js';

/** What the heartbeat writer and the worker do to telemetry storage: partitions, rollups, offline marks. */
@Injectable()
export class TelemetryMaintenanceService {
  constructor(
    private readonly partitions: MetricPartitionsRepository,
    private readonly rollups: MetricRollupsRepository,
    private readonly connectivity: ConnectivityRepository,
  ) {}

  /** Creates the daily metric partitions these UTC days (YYYY-MM-DD) need, outside the caller's transaction. */
  ensureMetricDays(days: string[]): Promise<void> {
    return this.partitions.ensureDays(days);
  }

  /** Creates partitions for today and `daysAhead` days; returns how many were new. */
  ensurePartitionsAhead(daysAhead: number): Promise<number> {
    return this.partitions.ensureAhead(daysAhead);
  }

  dropPartitionsOlderThan(cutoff: Date): Promise<string[]> {
    return this.partitions.dropOlderThan(cutoff);
  }

  rollUpReceivedSince(since: Date): Promise<{ minutes: number; hours: number }> {
    return this.rollups.rollUpReceivedSince(since);
  }

  async pruneRollups(minuteCutoff: Date, hourCutoff: Date): Promise<void> {
    await this.rollups.pruneMinutes(minuteCutoff);
    await this.rollups.pruneHours(hourCutoff);
  }

  /** Records "offline" for active devices silent longer than `afterMs` that are still marked online. */
  markSilentOffline(afterMs: number): Promise<Array<{ deviceId: string; at: Date }>> {
    return this.connectivity.markSilentOffline(afterMs);
  }
}
