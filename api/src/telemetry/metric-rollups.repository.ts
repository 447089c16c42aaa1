import { Injectable } from '@nestjs/common';
import { MAX_STORAGE_BYTES } from '@xspectre/contracts';
import { Database } from '../db/database.js';
import { ROLLUP_READ, SAMPLE, WEIGHT, weightedAvg } from './metric-bounds.js';

const ROLLUP_COLUMNS = `samples, cpu_avg, cpu_max, load1_avg, mem_used_avg, mem_total_max, swap_used_avg, disk_used_percent_max, net_rx_bps_avg, net_tx_bps_avg`;
const UPDATE_ALL = ROLLUP_COLUMNS.split(', ')
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(', ');

const MAX_INT4 = 2 ** 31 - 1;

/**
 * 1-minute rollups from samples, 1-hour rollups from the 1-minute ones. Each run recomputes
 * whole buckets touched by rows that arrived recently, so late rows (a replayed journal) are
 * folded in and reruns are harmless. Stored values are read bounded (metric-bounds.ts): the
 * statement covers the whole fleet, so one device's old rows must not fail it.
 */
@Injectable()
export class MetricRollupsRepository {
  constructor(private readonly db: Database) {}

  /** Returns how many 1-minute and 1-hour buckets were (re)written. */
  async rollUpReceivedSince(since: Date): Promise<{ minutes: number; hours: number }> {
    const minutes: unknown[] = await this.db.manager().query(
      `WITH touched AS (
         SELECT DISTINCT device_id, date_trunc('minute', sampled_at) AS bucket FROM metric_samples WHERE received_at >= $1
       )
       INSERT INTO metric_rollups_1m (device_id, bucket, ${ROLLUP_COLUMNS})
       SELECT s.device_id, t.bucket, count(*), avg(${SAMPLE.cpu}), max(${SAMPLE.cpu}), avg(${SAMPLE.load1}), avg(${SAMPLE.memUsed}),
              max(${SAMPLE.memTotal}), avg(${SAMPLE.swapUsed}), max(${SAMPLE.disk}), avg(${SAMPLE.rx}), avg(${SAMPLE.tx})
         FROM touched t
         JOIN metric_samples s ON s.device_id = t.device_id AND s.sampled_at >= t.bucket AND s.sampled_at < t.bucket + interval '1 minute'
        GROUP BY s.device_id, t.bucket
       ON CONFLICT (device_id, bucket) DO UPDATE SET ${UPDATE_ALL}
       RETURNING device_id`,
      [since],
    );
    const hours: unknown[] = await this.db.manager().query(
      `WITH touched AS (
         SELECT DISTINCT device_id, date_trunc('hour', sampled_at) AS bucket FROM metric_samples WHERE received_at >= $1
       )
       INSERT INTO metric_rollups_1h (device_id, bucket, ${ROLLUP_COLUMNS})
       SELECT m.device_id, t.bucket, LEAST(sum(${WEIGHT}), ${MAX_INT4}),
              ${ROLLUP_READ.cpu_avg}, ${ROLLUP_READ.cpu_max}, ${ROLLUP_READ.load1},
              ${ROLLUP_READ.mem_used}, ${ROLLUP_READ.mem_total}, ${weightedAvg('swap_used_avg', MAX_STORAGE_BYTES)},
              ${ROLLUP_READ.disk_max}, ${ROLLUP_READ.rx}, ${ROLLUP_READ.tx}
         FROM touched t
         JOIN metric_rollups_1m m ON m.device_id = t.device_id AND m.bucket >= t.bucket AND m.bucket < t.bucket + interval '1 hour'
        GROUP BY m.device_id, t.bucket
       ON CONFLICT (device_id, bucket) DO UPDATE SET ${UPDATE_ALL}
       RETURNING device_id`,
      [since],
    );
    return { minutes: minutes.length, hours: hours.length };
  }

  /** Drops 1-minute rollups older than `cutoff` (1-hour rollups follow the sample retention). */
  async pruneMinutes(cutoff: Date): Promise<void> {
    await this.db.manager().query('DELETE FROM metric_rollups_1m WHERE bucket < $1', [cutoff]);
  }

  async pruneHours(cutoff: Date): Promise<void> {
    await this.db.manager().query('DELETE FROM metric_rollups_1h WHERE bucket < $1', [cutoff]);
  }
}
