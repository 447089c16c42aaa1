import { z } from 'zod';
import { DeviceTypeSchema } from './devices.js';

/** `GET devices/summary`: the overview's numbers in one answer, counted by the database over the whole fleet. */
export const DeviceSummaryQuerySchema = z
  .object({ organizationId: z.uuid().optional(), siteId: z.uuid().optional(), type: DeviceTypeSchema.optional() })
  .strict();

const Count = z.number().int().min(0);

export const WorstDeviceSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  value: z.number().min(0).max(100),
  sampledAt: z.string(),
});
export type WorstDevice = z.infer<typeof WorstDeviceSchema>;

/** How many devices the summary lists per metric. */
export const SUMMARY_WORST_LIMIT = 5;

export const DeviceSummarySchema = z.object({
  total: Count.describe('every device, whatever its status'),
  byStatus: z.object({ pending: Count, active: Count, revoked: Count, retired: Count }),
  connectivity: z
    .object({ online: Count, offline: Count, neverSeen: Count })
    .describe('the same classes as the list filter `connectivity`: offline = heard from, but not online now'),
  quarantined: Count,
  organizations: z
    .array(
      z.object({
        organizationId: z.uuid(),
        name: z.string(),
        billable: z.boolean(),
        active: Count.describe('enrolled and in service: what a customer is billed for'),
        online: Count,
        pending: Count,
      }),
    )
    .describe('every organization in scope, with zeros, sorted by name'),
  worst: z
    .object({
      cpuPercent: z.array(WorstDeviceSchema),
      memUsedPercent: z.array(WorstDeviceSchema),
      diskUsedPercentMax: z.array(WorstDeviceSchema),
    })
    .describe(`the online devices with the highest values in their newest heartbeat (up to ${SUMMARY_WORST_LIMIT} each)`),
});
export type DeviceSummary = z.infer<typeof DeviceSummarySchema>;
