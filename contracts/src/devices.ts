import { z } from 'zod';
import { NameSchema, PageQuerySchema, pageOf } from './common.js';

export const DEVICE_TYPES = ['scanner', 'server'] as const;
export const DeviceTypeSchema = z.enum(DEVICE_TYPES);
export type DeviceType = z.infer<typeof DeviceTypeSchema>;

/** pending: created, waiting for enrollment; active: enrolled; revoked: cut off; retired: decommissioned. */
export const DEVICE_STATUSES = ['pending', 'active', 'revoked', 'retired'] as const;
export const DEVICE_SORTS = [
  'name',
  '-name',
  'lastHeartbeatAt',
  '-lastHeartbeatAt',
  'createdAt',
  '-createdAt',
  'enrolledAt',
  '-enrolledAt',
  'status',
  '-status',
  'cpu',
  '-cpu',
  'memory',
  '-memory',
  'disk',
  '-disk',
] as const;
export const DeviceStatusSchema = z.enum(DEVICE_STATUSES);
export type DeviceStatus = z.infer<typeof DeviceStatusSchema>;

export const TunnelStateSchema = z.object({
  overlayAddress: z.string().nullable(),
  publicKey: z.string().nullable(),
  lastHandshakeAt: z.string().nullable(),
  rxBytes: z.number().int(),
  txBytes: z.number().int(),
  endpoint: z.string().nullable().describe('the underlay address the hub last saw the device at'),
});

const Percent = z.number().min(0).max(100);
const Rate = z.number().min(0);

/** The few numbers a fleet table shows, from the newest heartbeat with metrics. */
export const DeviceHeadlineMetricsSchema = z
  .object({
    cpuPercent: Percent,
    memUsedPercent: Percent,
    diskUsedPercentMax: Percent.nullable().describe('fullest mount; null when the device reports no mounts'),
    netRxBps: Rate,
    netTxBps: Rate,
  })
  .strict();
export type DeviceHeadlineMetrics = z.infer<typeof DeviceHeadlineMetricsSchema>;

/** What a device's agent runs; stored per device (defaults by type at creation) and handed out at enrollment. */
export const DeviceModulesSchema = z.object({
  docker: z.boolean(),
  scanner: z.boolean(),
  backups: z.enum(['off', 'file', 'full', 'hybrid']),
});
export type DeviceModules = z.infer<typeof DeviceModulesSchema>;

export const DeviceSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  organizationId: z.uuid(),
  siteId: z.uuid(),
  type: DeviceTypeSchema,
  status: DeviceStatusSchema,
  billable: z.boolean(),
  hostname: z.string().nullable(),
  agentVersion: z.string().nullable(),
  enrolledAt: z.string().nullable(),
  lastHeartbeatAt: z.string().nullable(),
  connectivity: z
    .enum(['online', 'offline', 'never_seen'])
    .describe('offline after three missed heartbeat intervals; only active devices are online'),
  tunnel: TunnelStateSchema,
  quarantine: z
    .object({ since: z.string(), reason: z.string() })
    .nullable()
    .describe('set when the hardware fingerprint changed: no commands until an operator accepts the new hardware'),
  metrics: DeviceHeadlineMetricsSchema.nullable().describe('from the newest heartbeat that carried metrics; null before the first'),
  metricsSampledAt: z.string().nullable().describe('when those metrics were sampled (old for an offline device)'),
  modules: DeviceModulesSchema.describe('what the agent runs; given to the agent at enrollment'),
  createdAt: z.string(),
});
export type Device = z.infer<typeof DeviceSchema>;

export const CreateDeviceSchema = z
  .object({ name: NameSchema, organizationId: z.uuid(), siteId: z.uuid(), type: DeviceTypeSchema })
  .strict();
export const ListDevicesQuerySchema = PageQuerySchema.extend({
  organizationId: z.uuid().optional(),
  siteId: z.uuid().optional(),
  type: DeviceTypeSchema.optional(),
  status: DeviceStatusSchema.optional(),
  connectivity: z.enum(['online', 'offline', 'never_seen']).optional(),
  quarantined: z.enum(['true', 'false']).optional().describe('only quarantined (true) or only not quarantined (false) devices'),
  q: z.string().max(120).optional(),
  sort: z
    .enum(DEVICE_SORTS)
    .default('name')
    .describe('a leading "-" sorts descending; cpu, memory and disk (fullest mount) sort by the newest metrics, devices without any last'),
  cursor: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe(
      "keyset pagination: the `nextCursor` of the previous page (same sort); the page continues after that page's last device (its sort key, then id). Not combined with offset",
    ),
}).strict();
export const DevicePageSchema = pageOf(DeviceSchema).extend({
  nextCursor: z
    .string()
    .nullable()
    .optional()
    .describe('pass as `cursor` (same sort and filters) for the page after this one; null when no device follows'),
});

/** Typed by a technician: 20 base32 characters (100 bits) in groups of four, e.g. ABCD-EFGH-JKLM-NPQR-STUV. */
export const ClaimCodeTextSchema = z
  .string()
  .trim()
  .transform((c) => c.toUpperCase().replace(/[\s-]/g, ''))
  .pipe(z.string().regex(/^[A-Z2-7]{20}$/, 'a claim code is 20 letters and digits (A-Z, 2-7), dashes optional'));

export const ClaimCodeSchema = z.object({
  id: z.uuid(),
  deviceId: z.uuid(),
  status: z.enum(['active', 'used', 'expired', 'revoked']),
  expiresAt: z.string(),
  createdAt: z.string(),
  usedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ClaimCode = z.infer<typeof ClaimCodeSchema>;

/** The code itself appears only in this answer; the API keeps only its hash. */
export const IssuedClaimCodeSchema = ClaimCodeSchema.extend({
  code: z.string(),
  bootstrapCommand: z.string().describe('the one line a technician runs on the device'),
});
export const CreateDeviceResponseSchema = z.object({ device: DeviceSchema, claimCode: IssuedClaimCodeSchema });
export const ListClaimCodesQuerySchema = PageQuerySchema.extend({
  deviceId: z.uuid().optional(),
  status: z.enum(['active', 'used', 'expired', 'revoked']).optional(),
}).strict();
export const ClaimCodePageSchema = pageOf(ClaimCodeSchema);

export const ConnectivityEventSchema = z.object({ state: z.enum(['online', 'offline']), at: z.string() });
export const ConnectivityEventPageSchema = pageOf(ConnectivityEventSchema);
