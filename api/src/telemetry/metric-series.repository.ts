import { Injectable } from '@nestjs/common';
import { Database } from '../db/database.js';
import { ROLLUP_READ, SAMPLE } from './metric-bounds.js';

export type SeriesSource = 'samples' | 'rollup_1m' | 'rollup_1h';

/**
 * Raw column expressions per source; rollups weight averages by their sample counts. Every stored
 * value is read bounded (bounded-sql.ts), so an old row cannot overflow a sum or answer NaN.
 */
const EXPRESSIONS: Record<SeriesSource, Record<string, string>> = {
  samples: {
    cpu_avg: `avg(${SAMPLE.cpu})`,
    cpu_max: `max(${SAMPLE.cpu})`,
    load1: `avg(${SAMPLE.load1})`,
    mem_used: `avg(${SAMPLE.memUsed})`,
    mem_total: `max(${SAMPLE.memTotal})`,
    disk_max: `max(${SAMPLE.disk})`,
    rx: `avg(${SAMPLE.rx})`,
    tx: `avg(${SAMPLE.tx})`,
  },
  rollup_1m: ROLLUP_READ,
  rollup_1h: ROLLUP_READ,
};

/**
 * Decimals each value is rounded to in SQL: percents and load to hundredths, bytes to whole bytes.
 * A chart shows no more, and the 17 significant digits of an average were most of a 24-hour
 * series' bytes on the wire.
 */
const DECIMALS: Record<string, number> = { cpu_avg: 2, cpu_max: 2, load1: 2, disk_max: 2, mem_used: 0, mem_total: 0, rx: 0, tx: 0 };

const TABLE: Record<SeriesSource, { table: string; time: string }> = {
  samples: { table: 'metric_samples', time: 'sampled_at' },
  rollup_1m: { table: 'metric_rollups_1m', time: 'bucket' },
  rollup_1h: { table: 'metric_rollups_1h', time: 'bucket' },
};

@Injectable()
export class MetricSeriesRepository {
  constructor(private readonly db: Database) {}

  /**
   * Points of `step` seconds between from and to, with only the `aliases` a chart shows (a week of
   * 1-minute rollups is 10,080 rows: every expression left out is work saved on each). `t` comes
   * as ISO text from PostgreSQL. Only the fixed expressions above are ever interpolated.
   */
  async series(
    source: SeriesSource,
    deviceId: string,
    range: { from: Date; to: Date; step: number },
    aliases: readonly string[],
  ): Promise<Array<{ t: string; values: Array<number | null> }>> {
    const { table, time } = TABLE[source];
    const expressions = EXPRESSIONS[source];
    const columns = aliases.map((alias, i) => {
      const expr = expressions[alias];
      const decimals = DECIMALS[alias];
      if (!expr || decimals === undefined) throw new Error(`no series expression ${alias}`);
      return `round((${expr})::numeric, ${decimals}) AS v${i}`;
    });
    // Grouped by date_bin (cheap per row; epoch-aligned like floor(epoch / step) * step), formatted once per point.
    const rows: Array<Record<string, unknown>> = await this.db.manager().query(
      `SELECT to_char(p.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t, ${aliases.map((_, i) => `p.v${i}`).join(', ')}
         FROM (SELECT date_bin(make_interval(secs => $4), ${time}, TIMESTAMPTZ 'epoch') AS at, ${columns.join(', ')}
                 FROM ${table}
                WHERE device_id = $1 AND ${time} >= $2 AND ${time} < $3
                GROUP BY 1) p
        ORDER BY p.at`,
      [deviceId, range.from, range.to, range.step],
    );
    return rows.map((r) => ({
      t: r.t as string,
      values: aliases.map((_, i) => {
        const v = r[`v${i}`];
        return v === null || v === undefined ? null : Number(v);
      }),
    }));
  }
}
