import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { DayPartitions } from '../db/day-partitions.js';

const PARTITIONS_LOCK_KEY = 0x5853_4850; // "XSHP"

/** Day partitions of device_heartbeats (by received_at): created ahead of time, dropped after the retention. */
@Injectable()
export class HeartbeatPartitionsRepository {
  private readonly partitions: DayPartitions;

  constructor(db: Database) {
    this.partitions = new DayPartitions(db, 'device_heartbeats', PARTITIONS_LOCK_KEY);
  }

  ensureAhead(daysAhead: number): Promise<number> {
    return this.partitions.ensureAhead(daysAhead);
  }

  ensureDays(days: string[]): Promise<void> {
    return this.partitions.ensureDays(days);
  }

  dropOlderThan(cutoff: Date): Promise<string[]> {
    return this.partitions.dropOlderThan(cutoff);
  }
}
