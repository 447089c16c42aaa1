import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';

export type SeriesSource = 'samples' | 'rollup_1m' | 'rollup_1h';

/** Raw column expressions per source; rollups weight averages by their sample counts. */
const EXPRESSIONS: Record<SeriesSource, Record<string, string>> = {
  samples: {
    cpu_avg: 'avg(cpu_percent)',
    cpu_max: 'max(cpu_percent)',
    load1: 'avg(load1)',
    mem_used: 'avg(mem_used_bytes)',
    mem_total: 'max(mem_total_bytes)',
    disk_max: 'max(disk_used_percent_max)',
    rx: 'avg(net_rx_bps)',
    tx: 'avg(net_tx_bps)',
  },
  rollup_1m: weighted(),
  rollup_1h: weighted(),
};

function weighted(): Record<string, string> {
  return {
    cpu_avg: 'sum(cpu_avg * samples) / sum(samples)',
    cpu_max: 'max(cpu_max)',
    load1: 'sum(load1_avg * samples) / sum(samples)',
    mem_used: 'sum(mem_used_avg * samples) / sum(samples)',
    mem_total: 'max(mem_total_max)',
    disk_max: 'max(disk_used_percent_max)',
    rx: 'sum(net_rx_bps_avg * samples) / sum(samples)',
    tx: 'sum(net_tx_bps_avg * samples) / sum(samples)',
  };
}

const TABLE: Record<SeriesSource, { table: string; time: string }> = {
  samples: { table: 'metric_samples', time: 'sampled_at' },
  rollup_1m: { table: 'metric_rollups_1m', time: 'bucket' },
  rollup_1h: { table: 'metric_rollups_1h', time: 'bucket' },
};

@Injectable()
export class MetricSeriesRepository {
  constructor(private readonly db: Database) {}

  /** Points of `step` seconds between from and to; only the fixed expressions above are ever interpolated. */
  async series(
    source: SeriesSource,
    deviceId: string,
    from: Date,
    to: Date,
    step: number,
  ): Promise<Array<Record<string, number | string | null>>> {
    const { table, time } = TABLE[source];
    const columns = Object.entries(EXPRESSIONS[source])
      .map(([alias, expr]) => `${expr} AS ${alias}`)
      .join(', ');
    const rows: Array<Record<string, unknown>> = await this.db.manager().query(
      `SELECT to_timestamp(floor(extract(epoch FROM ${time}) / $4) * $4) AS t, ${columns}
         FROM ${table}
        WHERE device_id = $1 AND ${time} >= $2 AND ${time} < $3
        GROUP BY 1 ORDER BY 1`,
      [deviceId, from, to, step],
    );
    return rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v === null ? null : Number(v)])),
    );
  }
}
