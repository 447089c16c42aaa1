import { MAX_LOAD_AVERAGE, MAX_STORAGE_BYTES } from '@xspectre/contracts';
import { clampSql, MAX_HOST_RATE_BYTES_PER_SECOND } from '../db/bounded-sql.js';

/** metric_samples columns, read bounded (see bounded-sql.ts). */
export const SAMPLE = {
  cpu: clampSql('cpu_percent', 100),
  load1: clampSql('load1', MAX_LOAD_AVERAGE),
  memUsed: clampSql('mem_used_bytes', MAX_STORAGE_BYTES),
  memTotal: clampSql('mem_total_bytes', MAX_STORAGE_BYTES),
  swapUsed: clampSql('swap_used_bytes', MAX_STORAGE_BYTES),
  disk: clampSql('disk_used_percent_max', 100),
  rx: clampSql('net_rx_bps', MAX_HOST_RATE_BYTES_PER_SECOND),
  tx: clampSql('net_tx_bps', MAX_HOST_RATE_BYTES_PER_SECOND),
};

/** A rollup row's sample count as a weight: never negative; a sum of weights of 0 gives NULL, not a division by zero. */
export const WEIGHT = 'GREATEST(samples, 0)';
export const weightedAvg = (column: string, max: number) => `sum(${clampSql(column, max)} * ${WEIGHT}) / NULLIF(sum(${WEIGHT}), 0)`;

/** The rollup columns (metric_rollups_1m and _1h) aggregated over several rows, bounded, keyed like the series aliases. */
export const ROLLUP_READ: Record<string, string> = {
  cpu_avg: weightedAvg('cpu_avg', 100),
  cpu_max: `max(${clampSql('cpu_max', 100)})`,
  load1: weightedAvg('load1_avg', MAX_LOAD_AVERAGE),
  mem_used: weightedAvg('mem_used_avg', MAX_STORAGE_BYTES),
  mem_total: `max(${clampSql('mem_total_max', MAX_STORAGE_BYTES)})`,
  disk_max: `max(${clampSql('disk_used_percent_max', 100)})`,
  rx: weightedAvg('net_rx_bps_avg', MAX_HOST_RATE_BYTES_PER_SECOND),
  tx: weightedAvg('net_tx_bps_avg', MAX_HOST_RATE_BYTES_PER_SECOND),
};
