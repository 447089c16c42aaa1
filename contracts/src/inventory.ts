import { z } from 'zod';
import { PageQuerySchema, pageOf } from './common.js';
import { InventoryReportSchema } from './agent.js';
import { DeviceDiskHealthSchema } from './disk-health.js';

/** One difference between two inventory versions, e.g. `disks[sda].serial`: "S1" → "S2". */
export const HardwareChangeSchema = z.object({
  path: z.string(),
  before: z.string().nullable(),
  after: z.string().nullable(),
});
export type HardwareChange = z.infer<typeof HardwareChangeSchema>;

export const InventoryVersionSchema = z.object({
  version: z.number().int().min(1),
  reportedAt: z.string(),
  sequence: z.number().int().describe('the heartbeat that carried it'),
  fingerprintMatches: z
    .boolean()
    .nullable()
    .describe('whether this inventory reproduces the fingerprint bound at enrollment (null: the report lacks the MACs to tell)'),
  changes: z.array(HardwareChangeSchema).describe('against the previous version; empty for the first'),
});
export type InventoryVersion = z.infer<typeof InventoryVersionSchema>;

export const DeviceInventorySchema = z.object({
  deviceId: z.uuid(),
  current: InventoryVersionSchema.extend({ inventory: InventoryReportSchema }).nullable(),
  history: pageOf(InventoryVersionSchema).describe('newest first'),
  diskHealth: DeviceDiskHealthSchema.nullable().describe('the latest SMART reading of the disks (null: none reported)'),
});
export type DeviceInventory = z.infer<typeof DeviceInventorySchema>;
export const InventoryHistoryQuerySchema = PageQuerySchema.strict();

/** What happened to a device that the alert engine and operators act on. */
export const DEVICE_EVENT_TYPES = [
  'fingerprint.changed',
  'fingerprint.accepted',
  'hardware.changed',
  'journal.gap',
  'device.enrolled',
  'device.revoked',
  'device.retired',
  // A file backup run ended (api/src/backups): a failure alerts, the next success resolves it.
  'backup.failed',
  'backup.succeeded',
  // No successful backup in BACKUP_OVERDUE_HOURS (the worker's overdue job, once per episode); backup.succeeded resolves it.
  'backup.overdue',
  // The weekly `restic check` failed / passed again (only on a change of outcome).
  'backup.check_failed',
  'backup.check_succeeded',
  // The device's repository went above / back below 90 % of its quota (the backup server's capacity report).
  'backup.quota_high',
  'backup.quota_ok',
  // The device presented an SSH host key other than the pinned one (inventory or a connection):
  // terminal and file sessions are refused until a Super Admin accepts it (critical alert).
  'ssh.host_key_changed',
  'ssh.host_key_accepted',
  // A full-disk image job (api/src/disk-images) ended: a failure alerts, the next success resolves it.
  'disk_image.failed',
  'disk_image.succeeded',
  // A FULL or HYBRID device has no succeeded image for DISK_IMAGE_OVERDUE_DAYS (the worker's job,
  // once per episode); disk_image.succeeded resolves it.
  'disk_image.overdue',
  // The recovery stick registered (RECOVERY MODE: api/src/recovery), and recovery mode ended (the
  // normal agent was heard again, or the stick was revoked).
  'device.recovery-mode',
  'device.recovery-mode-ended',
  // A disk turned failing by SMART (contracts/src/disk-health.ts smartFailure; once per episode), and
  // no disk is failing any more (resolves it).
  'disk.smart_failed',
  'disk.smart_ok',
] as const;
export const DeviceEventTypeSchema = z.enum(DEVICE_EVENT_TYPES);
export type DeviceEventType = z.infer<typeof DeviceEventTypeSchema>;
export const EventSeveritySchema = z.enum(['info', 'warning', 'critical']);
export type EventSeverity = z.infer<typeof EventSeveritySchema>;

export const DeviceEventSchema = z.object({
  id: z.string(),
  deviceId: z.uuid(),
  type: DeviceEventTypeSchema,
  severity: EventSeveritySchema,
  at: z.string(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())])),
});
export type DeviceEvent = z.infer<typeof DeviceEventSchema>;
export const DeviceEventPageSchema = pageOf(DeviceEventSchema);
export const ListDeviceEventsQuerySchema = PageQuerySchema.extend({ type: DeviceEventTypeSchema.optional() }).strict();

export const AcceptFingerprintSchema = z
  .object({
    reason: z
      .string()
      .trim()
      .min(3, 'say why the new hardware is trusted (at least 3 characters)')
      .max(500)
      .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
  })
  .strict();
