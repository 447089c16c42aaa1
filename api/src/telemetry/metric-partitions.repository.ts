import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { DayPartitions } from '../db/day-partitions.js';

const PARTITIONS_LOCK_KEY = 0x5853_4d50; // "XSMP"

/** Day partitions of metric_samples: created ahead of time, dropped after the retention. */
@Injectable()
export class MetricPartitionsRepository {
  private readonly partitions: DayPartitions;

  constructor(db: Database) {
    this.partitions = new DayPartitions(db, 'metric_samples', PARTITIONS_LOCK_KEY);
  }

  /** Creates the partitions from yesterday to `daysAhead` days ahead; returns how many were new. */
  ensureAhead(daysAhead: number): Promise<number> {
    return this.partitions.ensureAhead(daysAhead);
  }

  /**
   * Creates the partitions of these UTC days (YYYY-MM-DD) if missing, in a transaction of its
   * own: a replayed journal may bring samples from days the worker has not prepared.
   */
  ensureDays(days: string[]): Promise<void> {
    return this.partitions.ensureDays(days);
  }

  /** Drops whole days older than the retention. */
  dropOlderThan(cutoff: Date): Promise<string[]> {
    return this.partitions.dropOlderThan(cutoff);
  }
}
