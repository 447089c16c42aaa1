import { z } from 'zod';

/**
 * SMART disk health as the agent reads it (`smartctl`, agent/src/collectors/smart.ts) and sends
 * as a heartbeat's `diskHealth`: its own section, not part of the versioned inventory, because
 * temperatures and power-on hours change at every reading and would make each one a new
 * inventory version. Every number is a bounded finite integer; unknown fields are refused.
 */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

export const MAX_SMART_DISKS = 32;
/** A sector or error counter: at most 2^48 (a disk has fewer sectors than that). */
export const MAX_SMART_COUNT = 2 ** 48;
const Count = z.number().int().min(0).max(MAX_SMART_COUNT);
/**
 * Reallocated plus pending sectors (ATA) above this make a disk count as failing even while its
 * overall self-assessment still says PASSED: such a disk is losing sectors.
 */
export const SMART_FAILING_SECTORS = 100;
/**
 * NVMe critical warning bits that mean the drive is failing: spare below threshold (0),
 * reliability degraded (2), read-only (3), volatile memory backup failed (4). Bit 1 (temperature)
 * is left out: a hot drive is not a failing one.
 */
export const NVME_FAILING_WARNING_BITS = 0x1d;

export const SmartProtocolSchema = z.enum(['ATA', 'NVMe', 'SCSI', 'unknown']);
export type SmartProtocol = z.infer<typeof SmartProtocolSchema>;

export const DiskHealthSchema = z
  .object({
    device: Text(64).min(1).describe('the device smartctl read, e.g. /dev/sda'),
    protocol: SmartProtocolSchema,
    model: Text(200).nullable(),
    serial: Text(200).nullable(),
    health: z.enum(['passed', 'failed', 'unknown']).describe("the drive's overall self-assessment"),
    temperatureC: z.number().int().min(-60).max(200).nullable(),
    powerOnHours: z.number().int().min(0).max(10_000_000).nullable(),
    reallocatedSectors: Count.nullable().describe('ATA attribute 5'),
    pendingSectors: Count.nullable().describe('ATA attribute 197'),
    mediaErrors: Count.nullable().describe('NVMe media and data integrity errors'),
    percentageUsed: z.number().int().min(0).max(255).nullable().describe('NVMe endurance used (may exceed 100)'),
    criticalWarning: z.number().int().min(0).max(255).nullable().describe('NVMe critical warning bit field'),
    error: Text(300).nullable().describe('why this disk could not be read fully (e.g. smartctl gave no readable answer)'),
  })
  .strict();
export type DiskHealth = z.infer<typeof DiskHealthSchema>;

export const DiskHealthReportSchema = z
  .object({
    collectedAt: z.iso.datetime({ offset: true }),
    status: z.enum(['ok', 'unavailable']).describe('unavailable: smartctl is missing or may not read the disks (see reason)'),
    reason: Text(300).optional(),
    disks: z.array(DiskHealthSchema).max(MAX_SMART_DISKS, `at most ${MAX_SMART_DISKS} disks`),
  })
  .strict();
export type DiskHealthReport = z.infer<typeof DiskHealthReportSchema>;

/**
 * Why a disk counts as failing, or null when it does not: the self-assessment FAILED, an NVMe
 * critical warning (other than temperature), or more than SMART_FAILING_SECTORS reallocated plus
 * pending sectors. The API alerts on it and the console shows it, so both judge alike.
 */
export function smartFailure(disk: DiskHealth): string | null {
  if (disk.health === 'failed') return 'SMART health self-assessment FAILED';
  if (disk.criticalWarning !== null && (disk.criticalWarning & NVME_FAILING_WARNING_BITS) !== 0)
    return `NVMe critical warning 0x${disk.criticalWarning.toString(16).padStart(2, '0')}`;
  const sectors = (disk.reallocatedSectors ?? 0) + (disk.pendingSectors ?? 0);
  if (sectors > SMART_FAILING_SECTORS) return `${sectors} reallocated and pending sectors (above ${SMART_FAILING_SECTORS})`;
  return null;
}

/** A disk's identity across readings: its serial, else its device path. */
export const smartDiskKey = (disk: Pick<DiskHealth, 'device' | 'serial'>) => disk.serial ?? disk.device;

/** The latest disk health of a device as the API shows it (the device's inventory page). */
export const DeviceDiskHealthSchema = z.object({
  reportedAt: z.string(),
  report: DiskHealthReportSchema,
  failing: z
    .array(z.object({ disk: z.string(), reason: z.string() }))
    .describe('the disks the API counts as failing (smartFailure), by serial or device path'),
});
export type DeviceDiskHealth = z.infer<typeof DeviceDiskHealthSchema>;
