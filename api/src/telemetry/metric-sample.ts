import { headlineMetrics, type Heartbeat, type SystemMetrics } from '@xspectre/contracts';

/** One row of metric_samples: the few numbers charts and alert rules need, per heartbeat. */
export interface MetricSample {
  sequence: number;
  sampledAt: Date;
  cpuPercent: number;
  load1: number;
  memUsedBytes: number;
  memTotalBytes: number;
  swapUsedBytes: number;
  diskUsedPercentMax: number | null;
  netRxBps: number;
  netTxBps: number;
}

const MAX_FUTURE_MS = 5 * 60_000;
const MAX_PAST_MS = 30 * 24 * 3600_000;

/**
 * When the sample was taken: the agent's clock, unless it is implausible (skewed into the
 * future, or older than any partition kept), then the time it arrived.
 */
export function sampleTime(sentAt: string, receivedAt: Date): Date {
  const sent = new Date(sentAt);
  const delta = sent.getTime() - receivedAt.getTime();
  return delta > MAX_FUTURE_MS || delta < -MAX_PAST_MS ? receivedAt : sent;
}

export function toMetricSample(heartbeat: Heartbeat & { metrics: SystemMetrics }, receivedAt: Date): MetricSample {
  const m = heartbeat.metrics;
  const headline = headlineMetrics(m);
  return {
    sequence: heartbeat.sequence,
    sampledAt: sampleTime(heartbeat.sentAt, receivedAt),
    cpuPercent: headline.cpuPercent,
    load1: m.load[0],
    memUsedBytes: m.memory.usedBytes,
    memTotalBytes: m.memory.totalBytes,
    swapUsedBytes: m.memory.swapUsedBytes,
    diskUsedPercentMax: headline.diskUsedPercentMax,
    netRxBps: headline.netRxBps,
    netTxBps: headline.netTxBps,
  };
}
