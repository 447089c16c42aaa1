import { Injectable } from '@nestjs/common';
import type { MetricSeries, MetricsQuery } from '@xspectre/contracts';
import { MetricSeriesRepository, type SeriesSource } from './metric-series.repository.js';

/** Which values each chart shows, by the aliases the repository selects. */
const VALUES: Record<MetricsQuery['metric'], Record<string, string>> = {
  cpu: { avg: 'cpu_avg', max: 'cpu_max' },
  memory: { used: 'mem_used', total: 'mem_total' },
  disk: { usedPercentMax: 'disk_max' },
  network: { rxBytesPerSecond: 'rx', txBytesPerSecond: 'tx' },
  load: { load1: 'load1' },
};

/** Fine steps read raw samples; a minute or more reads 1-minute rollups; an hour or more, 1-hour rollups. */
export function sourceFor(step: number): SeriesSource {
  if (step >= 3600) return 'rollup_1h';
  if (step >= 60) return 'rollup_1m';
  return 'samples';
}

@Injectable()
export class MetricsService {
  constructor(private readonly series: MetricSeriesRepository) {}

  async query(deviceId: string, q: MetricsQuery): Promise<MetricSeries> {
    const source = sourceFor(q.step);
    const wanted = Object.entries(VALUES[q.metric]);
    const rows = await this.series.series(
      source,
      deviceId,
      { from: new Date(q.from), to: new Date(q.to), step: q.step },
      wanted.map(([, alias]) => alias),
    );
    return {
      metric: q.metric,
      step: q.step,
      source,
      points: rows.map((r) => ({ t: r.t, values: Object.fromEntries(wanted.map(([name], i) => [name, r.values[i] ?? null])) })),
    };
  }
}
