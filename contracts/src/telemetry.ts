import { z } from 'zod';

/** Telemetry a heartbeat may carry. Every field is optional: additive to protocol 1. */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/**
 * Physical bounds of what a device reports. A heartbeat outside them is refused (400 naming the
 * field): no real machine produces such a number, and one device's absurd value must not reach
 * fleet-wide arithmetic (a sum of two 1e308 rates overflows PostgreSQL's float8). The agent
 * clamps what it reads to the same bounds (agent/src/collectors/system.ts, docker-parsers.ts).
 */
/** Memory (RAM, a container's memory): 4 PiB, the 52-bit physical address space of x86-64 and arm64. */
export const MAX_MEMORY_BYTES = 2 ** 52;
/** Storage and swap sizes: the largest integer a JSON number carries exactly (~8 PiB; larger network filesystems are clamped). */
export const MAX_STORAGE_BYTES = Number.MAX_SAFE_INTEGER;
/** Cumulative counters (interface bytes, inodes, sequences): kept exact in JSON; the agent wraps counters at 2^53. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;
/** One interface's rate: 1e12 B/s = 8 Tbit/s, ten times the fastest Ethernet port. */
export const MAX_RATE_BYTES_PER_SECOND = 1e12;
/** Load average: at most the number of tasks, which Linux caps at PID_MAX_LIMIT (4,194,304). */
export const MAX_LOAD_AVERAGE = 4_194_304;
/** Logical CPUs of one machine. */
export const MAX_CPU_CORES = 4096;
/** A container's CPU share like `docker stats`: 100 % per core. */
export const MAX_CONTAINER_CPU_PERCENT = 100 * MAX_CPU_CORES;
/** Container restarts: the largest Docker's 32-bit-safe counter holds (~68 years of one restart a second). */
export const MAX_RESTART_COUNT = 2 ** 31 - 1;
/** Uptime: 100 years. */
export const MAX_UPTIME_SECONDS = 100 * 365.25 * 24 * 3600;

const Count = z.number().int().min(0).max(MAX_COUNTER);
const Bytes = (max: number) => z.number().int().min(0).max(max);
const Percent = z.number().min(0).max(100);
const Load = z.number().min(0).max(MAX_LOAD_AVERAGE);
const Rate = z.number().min(0).max(MAX_RATE_BYTES_PER_SECOND);

/** A used amount never exceeds its total: refused on the `used` field. */
const usedWithinTotal =
  <T extends Record<string, unknown>>(pairs: Array<[used: keyof T & string, total: keyof T & string]>) =>
  (value: T, ctx: z.RefinementCtx<T>) => {
    for (const [used, total] of pairs) {
      if ((value[used] as number) > (value[total] as number))
        ctx.addIssue({ code: 'custom', path: [used], message: `must not exceed ${total}` });
    }
  };

export const SystemMetricsSchema = z
  .object({
    cpuPercent: Percent,
    load: z.tuple([Load, Load, Load]),
    memory: z
      .object({
        totalBytes: Bytes(MAX_MEMORY_BYTES),
        usedBytes: Bytes(MAX_MEMORY_BYTES),
        swapTotalBytes: Bytes(MAX_STORAGE_BYTES),
        swapUsedBytes: Bytes(MAX_STORAGE_BYTES),
      })
      .strict()
      .superRefine(
        usedWithinTotal([
          ['usedBytes', 'totalBytes'],
          ['swapUsedBytes', 'swapTotalBytes'],
        ]),
      ),
    mounts: z
      .array(
        z
          .object({
            mountpoint: Text(512),
            device: Text(512),
            fsType: Text(64),
            totalBytes: Bytes(MAX_STORAGE_BYTES),
            usedBytes: Bytes(MAX_STORAGE_BYTES),
            inodesTotal: Count,
            inodesUsed: Count,
          })
          .strict()
          .superRefine(
            usedWithinTotal([
              ['usedBytes', 'totalBytes'],
              ['inodesUsed', 'inodesTotal'],
            ]),
          ),
      )
      .max(256),
    network: z
      .array(
        z
          .object({
            name: Text(64),
            rxBytes: Count,
            txBytes: Count,
            rxBytesPerSecond: Rate,
            txBytesPerSecond: Rate,
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
    restartCount: z.number().int().min(0).max(MAX_RESTART_COUNT),
    cpuPercent: z.number().min(0).max(MAX_CONTAINER_CPU_PERCENT).nullable(),
    memoryBytes: Bytes(MAX_MEMORY_BYTES).nullable(),
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
export const JournalGapSchema = z
  .object({ fromSequence: Count, toSequence: Count, droppedCount: Count })
  .strict()
  .superRefine((gap, ctx) => {
    if (gap.toSequence < gap.fromSequence) ctx.addIssue({ code: 'custom', path: ['toSequence'], message: 'must not precede fromSequence' });
    else if (gap.droppedCount > gap.toSequence - gap.fromSequence + 1)
      ctx.addIssue({
        code: 'custom',
        path: ['droppedCount'],
        message: 'must not exceed the heartbeats between fromSequence and toSequence',
      });
  });

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
