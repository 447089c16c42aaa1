'use client';

import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import styles from './metric-chart.module.css';

export interface ChartSeries {
  label: string;
  /** A CSS variable name such as --chart-1. */
  color: string;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * A time series chart (uPlot). `data` is uPlot's aligned data: [unix seconds, ...one array per series].
 * The chart is created once per series shape and updated in place with setData.
 */
export function MetricChart({
  title,
  series,
  data,
  format,
  axisFormat,
  yRange,
  testId,
}: {
  title: string;
  series: ChartSeries[];
  data: uPlot.AlignedData;
  format: (value: number) => string;
  /** Tick labels, when shorter than the legend's values. */
  axisFormat?: (value: number) => string;
  yRange?: [number, number];
  testId?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;
  const shape = series.map((s) => s.label).join('|');

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | null = null;
    void import('uplot').then(({ default: UPlot }) => {
      if (disposed || !host.current) return;
      const el = host.current;
      const axisStroke = cssVar('--text-muted');
      const grid = { stroke: cssVar('--chart-grid'), width: 1 };
      const opts: uPlot.Options = {
        width: Math.max(200, el.clientWidth),
        height: 170,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: yRange ? { range: yRange } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: axisStroke, grid, ticks: grid },
          {
            stroke: axisStroke,
            grid,
            ticks: grid,
            values: (_u, splits) => splits.map((v) => (axisFormat ?? format)(v)),
            // Wide enough for the longest tick label ("120.5 Mbit/s"), about 7 px per character.
            size: (_u, values) => (values?.length ? Math.max(...values.map((v) => String(v).length)) * 7 + 20 : 40),
          },
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: cssVar(s.color),
            width: 1.6,
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : format(v)),
          })),
        ],
      };
      plot.current = new UPlot(opts, latest.current, el);
      observer = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 170 }));
      observer.observe(el);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Recreated only when the series change; data updates go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const points = data[0]?.length ?? 0;
  const hasValues = data
    .slice(1)
    .some((s) => (s as ArrayLike<number | null>).length > 0 && Array.from(s as ArrayLike<number | null>).some((v) => v !== null));
  return (
    <figure className={styles.figure} data-testid={testId} data-points={points} data-has-values={hasValues}>
      <figcaption className={styles.caption}>{title}</figcaption>
      <div ref={host} className={styles.plot} role="img" aria-label={`${title} chart, ${points} points`} />
      {!hasValues && <div className={styles.empty}>No data in this range yet</div>}
    </figure>
  );
}
