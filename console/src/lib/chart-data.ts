import type { DeviceLiveMetrics, MetricSeries } from '@xspectre/contracts';

export type ChartMetric = 'cpu' | 'memory' | 'disk' | 'network';
/** uPlot's aligned data: x in unix seconds, then one array per series. */
export type Aligned = [number[], ...Array<Array<number | null>>];

/** The series each chart draws, from the API's value names (see GET devices/:id/metrics). */
export function alignSeries(metric: ChartMetric, series: MetricSeries): Aligned {
  const xs = series.points.map((p) => Math.floor(Date.parse(p.t) / 1000));
  const v = (name: string) => series.points.map((p) => p.values[name] ?? null);
  switch (metric) {
    case 'cpu':
      return [xs, v('avg'), v('max')];
    case 'memory':
      return [
        xs,
        series.points.map((p) => {
          const used = p.values.used;
          const total = p.values.total;
          return used !== null && used !== undefined && total ? (used / total) * 100 : null;
        }),
      ];
    case 'disk':
      return [xs, v('usedPercentMax')];
    case 'network':
      return [xs, v('rxBytesPerSecond'), v('txBytesPerSecond')];
  }
}

/** The values a live telemetry patch adds to each chart, in the same series order. */
export function livePoint(metric: ChartMetric, m: DeviceLiveMetrics): Array<number | null> {
  switch (metric) {
    case 'cpu':
      return [m.cpuPercent, m.cpuPercent];
    case 'memory':
      return [m.memUsedPercent];
    case 'disk':
      return [m.diskUsedPercentMax];
    case 'network':
      return [m.netRxBps, m.netTxBps];
  }
}

/**
 * Adds a live point at `t` (unix seconds) when it starts a new step after the last point, and
 * drops points older than the range. Returns the same object when nothing changed.
 */
export function appendLive(data: Aligned, t: number, values: Array<number | null>, step: number, rangeSeconds: number): Aligned {
  const xs = data[0];
  const last = xs.length ? xs[xs.length - 1]! : -Infinity;
  if (t < last + step) return data;
  const cutoff = t - rangeSeconds;
  let start = 0;
  while (start < xs.length && xs[start]! < cutoff) start++;
  const next: Aligned = [[...xs.slice(start), t]];
  for (let i = 1; i < data.length; i++) next.push([...data[i]!.slice(start), values[i - 1] ?? null]);
  return next;
}
