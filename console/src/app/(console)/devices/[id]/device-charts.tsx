'use client';

import { MetricSeriesSchema, type DeviceLiveMetrics } from '@xspectre/contracts';
import { useEffect, useState } from 'react';
import { MetricChart, type ChartSeries } from '../../../../components/metric-chart';
import { Button, Card, ProblemView } from '../../../../components/ui';
import { api } from '../../../../lib/api-client';
import { alignSeries, appendLive, livePoint, type Aligned, type ChartMetric } from '../../../../lib/chart-data';
import { bitsPerSecond, percent } from '../../../../lib/format';
import { liveClient } from '../../../../lib/live-client';
import { METRIC_RANGES, pickStep, rangeSeconds, type MetricRangeKey } from '../../../../lib/metric-ranges';
import { useResource } from '../../../../lib/use-api';

const wholePercent = (v: number) => `${Math.round(v)} %`;

const CHARTS: Array<{
  metric: ChartMetric;
  title: string;
  series: ChartSeries[];
  format: (v: number) => string;
  axisFormat?: (v: number) => string;
  yRange?: [number, number];
}> = [
  {
    metric: 'cpu',
    title: 'CPU',
    series: [
      { label: 'average', color: '--chart-1' },
      { label: 'peak', color: '--chart-2' },
    ],
    format: percent,
    axisFormat: wholePercent,
    yRange: [0, 100],
  },
  {
    metric: 'memory',
    title: 'Memory used',
    series: [{ label: 'used', color: '--chart-1' }],
    format: percent,
    axisFormat: wholePercent,
    yRange: [0, 100],
  },
  {
    metric: 'disk',
    title: 'Disk (fullest mount)',
    series: [{ label: 'used', color: '--chart-1' }],
    format: percent,
    axisFormat: wholePercent,
    yRange: [0, 100],
  },
  {
    metric: 'network',
    title: 'Network',
    series: [
      { label: 'receive', color: '--chart-1' },
      { label: 'send', color: '--chart-2' },
    ],
    format: bitsPerSecond,
  },
];

/** CPU, memory, disk and network over the chosen range, from the API's rollups, extended by live heartbeats. */
export function DeviceCharts({ deviceId, live }: { deviceId: string; live: { at: string; metrics: DeviceLiveMetrics } | null }) {
  const [range, setRange] = useState<MetricRangeKey>('1h');
  const seconds = rangeSeconds(range);
  const step = pickStep(seconds, liveClient().heartbeatIntervalSeconds);
  const series = useResource(`${deviceId}:${range}`, async (signal) => {
    const to = new Date();
    const from = new Date(to.getTime() - seconds * 1000);
    const answers = await Promise.all(
      CHARTS.map((c) =>
        api(`devices/${deviceId}/metrics`, {
          query: { metric: c.metric, from: from.toISOString(), to: to.toISOString(), step },
          schema: MetricSeriesSchema,
          signal,
        }),
      ),
    );
    return Object.fromEntries(CHARTS.map((c, i) => [c.metric, alignSeries(c.metric, answers[i]!)])) as Record<ChartMetric, Aligned>;
  });

  // A heartbeat's metrics extend each chart (a new point once per step).
  const { mutate } = series;
  useEffect(() => {
    if (!live) return;
    const t = Math.floor(Date.parse(live.at) / 1000);
    mutate(
      (current) =>
        current &&
        (Object.fromEntries(
          CHARTS.map((c) => [c.metric, appendLive(current[c.metric], t, livePoint(c.metric, live.metrics), step, seconds)]),
        ) as Record<ChartMetric, Aligned>),
    );
  }, [live, mutate, step, seconds]);

  return (
    <Card
      title="Health"
      actions={
        <div role="group" aria-label="Chart range" style={{ display: 'flex', gap: 4 }}>
          {METRIC_RANGES.map((r) => (
            <Button
              key={r.key}
              size="small"
              variant={r.key === range ? 'primary' : 'default'}
              aria-pressed={r.key === range}
              onClick={() => setRange(r.key)}
            >
              {r.label}
            </Button>
          ))}
        </div>
      }
    >
      {series.error ? <ProblemView error={series.error} onRetry={series.reload} /> : null}
      <div
        style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(min(420px, 100%), 1fr))', gap: 12 }}
        aria-busy={series.loading}
      >
        {CHARTS.map((c) => (
          <MetricChart
            key={c.metric}
            testId={`chart-${c.metric}`}
            title={c.title}
            series={c.series}
            format={c.format}
            axisFormat={c.axisFormat}
            yRange={c.yRange}
            data={series.data?.[c.metric] ?? [[], ...c.series.map(() => [])]}
          />
        ))}
      </div>
      <p style={{ margin: '8px 0 0', fontSize: 12, color: 'var(--text-faint)' }}>
        One point per {step >= 3600 ? `${step / 3600} h` : step >= 60 ? `${step / 60} min` : `${step} s`}
        {series.loading ? ' · loading…' : ''}
      </p>
    </Card>
  );
}
