import { z } from 'zod';

/** Telemetry a heartbeat may carry (the telemetry issue). Every field is optional: additive to protocol 1. */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Percent = z.number().min(0).max(100);

export const SystemMetricsSchema = z
  .object({
    cpuPercent: Percent,
    load: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]),
    memory: z.object({ totalBytes: Count, usedBytes: Count, swapTotalBytes: Count, swapUsedBytes: Count }).strict(),
    mounts: z
      .array(
        z
          .object({
            mountpoint: Text(512),
            device: Text(512),
            fsType: Text(64),
            totalBytes: Count,
            usedBytes: Count,
            inodesTotal: Count,
            inodesUsed: Count,
          })
          .strict(),
      )
      .max(256),
    network: z
      .array(
        z
          .object({
            name: Text(64),
            rxBytes: Count,
            txBytes: Count,
            rxBytesPerSecond: z.number().min(0),
            txBytesPerSecond: z.number().min(0),
          })
          .strict(),
      )
      .max(256),
  })
  .strict();
export type SystemMetrics = z.infer<typeof SystemMetricsSchema>;

export const ServiceStateSchema = z
  .object({
    unit: Text(256),
    activeState: Text(32),
    subState: Text(32),
    since: z.iso.datetime({ offset: true }).nullable(),
    watched: z.boolean().describe('on the configured watch list (else reported because it failed)'),
  })
  .strict();
export type ServiceState = z.infer<typeof ServiceStateSchema>;

export const ContainerStateSchema = z
  .object({
    id: Text(128),
    name: Text(256),
    image: Text(512),
    state: Text(32),
    health: Text(32).nullable(),
    restartCount: Count,
    cpuPercent: z.number().min(0).nullable(),
    memoryBytes: Count.nullable(),
  })
  .strict();
export type ContainerState = z.infer<typeof ContainerStateSchema>;

/** Docker absent is a state, not an error. */
export const DockerReportSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok'), containers: z.array(ContainerStateSchema).max(1000) }).strict(),
  z.object({ status: z.literal('not_installed') }).strict(),
  z.object({ status: z.literal('error'), error: Text(500) }).strict(),
]);
export type DockerReport = z.infer<typeof DockerReportSchema>;

/** The agent's journal dropped its oldest heartbeats (full disk budget): the API records the gap. */
export const JournalGapSchema = z.object({ fromSequence: Count, toSequence: Count, droppedCount: Count }).strict();

/** Chart queries: raw samples for fine steps, 1-minute and 1-hour rollups for coarse ones. */
export const METRIC_NAMES = ['cpu', 'memory', 'disk', 'network', 'load'] as const;
export const MetricsQuerySchema = z
  .object({
    metric: z.enum(METRIC_NAMES),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    step: z.coerce.number().int().min(1).max(86_400).describe('seconds per point'),
  })
  .strict()
  .refine((q) => new Date(q.from) < new Date(q.to), { message: 'from must be before to', path: ['from'] })
  .refine((q) => (new Date(q.to).getTime() - new Date(q.from).getTime()) / 1000 / q.step <= 2000, {
    message: 'at most 2000 points: widen the step or narrow the range',
    path: ['step'],
  });
export type MetricsQuery = z.infer<typeof MetricsQuerySchema>;

export const MetricPointSchema = z.object({
  t: z.string(),
  /** cpu: percent avg/max; memory: used/total bytes; disk: fullest mount percent; network: rx/tx bytes per second; load: 1-minute load. */
  values: z.record(z.string(), z.number().nullable()),
});
export const MetricSeriesSchema = z.object({
  metric: z.enum(METRIC_NAMES),
  step: z.number().int(),
  source: z.enum(['samples', 'rollup_1m', 'rollup_1h']),
  points: z.array(MetricPointSchema),
});
export type MetricSeries = z.infer<typeof MetricSeriesSchema>;

/** The newest telemetry a device reported: what its page shows beside the charts. */
export const DeviceTelemetrySchema = z.object({
  deviceId: z.uuid(),
  sequence: z.number().int().nullable(),
  sampledAt: z.string().nullable(),
  metrics: SystemMetricsSchema.nullable(),
  services: z.array(ServiceStateSchema).nullable(),
  docker: DockerReportSchema.nullable(),
});
export type DeviceTelemetry = z.infer<typeof DeviceTelemetrySchema>;
