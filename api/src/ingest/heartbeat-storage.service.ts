import { Injectable } from '@nestjs/common';
import { HeartbeatPartitionsRepository } from './heartbeat-partitions.repository.js';

/**
 * What the heartbeat writer and the worker do to the raw heartbeat rows: day partitions created
 * ahead, whole days dropped after API_HEARTBEAT_RETENTION_DAYS. Idempotency does not depend on
 * them: device_heartbeat_windows remembers what was stored (heartbeat-batch.repository.ts).
 */
@Injectable()
export class HeartbeatStorageService {
  constructor(private readonly partitions: HeartbeatPartitionsRepository) {}

  /** Creates the partitions of these UTC days (YYYY-MM-DD) if missing, outside the caller's transaction. */
  ensureDays(days: string[]): Promise<void> {
    return this.partitions.ensureDays(days);
  }

  /** Creates partitions from yesterday to `daysAhead` days ahead; returns how many were new. */
  ensurePartitionsAhead(daysAhead: number): Promise<number> {
    return this.partitions.ensureAhead(daysAhead);
  }

  /** Drops the days that ended at or before `cutoff`; returns the partitions dropped. */
  dropPartitionsOlderThan(cutoff: Date): Promise<string[]> {
    return this.partitions.dropOlderThan(cutoff);
  }
}
