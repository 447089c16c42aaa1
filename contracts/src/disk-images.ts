import { z } from 'zod';
import { IsoDateTimeSchema, PageQuerySchema, pageOf } from './common.js';
import { DiskImageMetadataSchema, DiskImageNameSchema } from './backup-server.js';
import { DiskNameSchema, RecoveryProgressSchema } from './recovery.js';

/**
 * Full-disk images as the console sees them (issue 16): the API's catalog of the images the
 * backup server accepted, and the jobs that take or restore one (api/src/disk-images). A job
 * walks: requested → booting-recovery (the normal agent's `reboot-to-recovery`, waiting for the
 * stick to register) → imaging | restoring (`recovery.image` / `recovery.restore`) → rebooting
 * (`recovery.reboot`, waiting for the normal agent) → succeeded | failed.
 */

export const DiskImageJobKindSchema = z.enum(['image', 'restore']);
export type DiskImageJobKind = z.infer<typeof DiskImageJobKindSchema>;
export const DiskImageJobStateSchema = z.enum([
  'requested',
  'booting-recovery',
  'imaging',
  'restoring',
  'rebooting',
  'succeeded',
  'failed',
]);
export type DiskImageJobState = z.infer<typeof DiskImageJobStateSchema>;
export const DISK_IMAGE_JOB_OPEN_STATES = ['requested', 'booting-recovery', 'imaging', 'restoring', 'rebooting'] as const;

/** Who started a job: an operator ("Take full image now", "Restore image…") or the weekly schedule (FULL, HYBRID). */
export const DiskImageJobTriggerSchema = z.enum(['operator', 'schedule']);
export type DiskImageJobTrigger = z.infer<typeof DiskImageJobTriggerSchema>;

/** A FULL or HYBRID device without a succeeded image for this long gets `disk_image.overdue` (once per episode). */
export const DISK_IMAGE_OVERDUE_DAYS = 8;

/** zstd level of an image taken from the console (recovery.ts: keeps up with a gigabit link on a few cores). */
export const DISK_IMAGE_COMPRESSION_LEVEL = 3;

export const DiskImageSchema = z.object({
  deviceId: z.uuid(),
  imageName: DiskImageNameSchema,
  compressedBytes: z.number().int(),
  sha256Compressed: z.string(),
  rawBytes: z.number().int(),
  metadata: DiskImageMetadataSchema,
  createdAt: IsoDateTimeSchema,
  /** Set once the backup server reported it pruned (retention): no longer restorable. */
  prunedAt: IsoDateTimeSchema.nullable(),
});
export type DiskImage = z.infer<typeof DiskImageSchema>;

export const DiskImageJobSchema = z.object({
  id: z.uuid(),
  deviceId: z.uuid(),
  kind: DiskImageJobKindSchema,
  state: DiskImageJobStateSchema,
  imageName: DiskImageNameSchema,
  /** Take: `{ disks }`; restore: `{ targets }` as the operator asked. */
  params: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
  requestedBy: z.string(),
  trigger: DiskImageJobTriggerSchema,
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
  finishedAt: IsoDateTimeSchema.nullable(),
  /** The commands the job queued, in order (null: not queued, or not needed). */
  commands: z.object({
    rebootToRecovery: z.uuid().nullable(),
    recovery: z.uuid().nullable(),
    reboot: z.uuid().nullable(),
  }),
  /** The stick's latest progress for the job's recovery command (null: none reported). */
  progress: RecoveryProgressSchema.nullable(),
});
export type DiskImageJob = z.infer<typeof DiskImageJobSchema>;

/** `GET devices/:id/disk-images`: the catalog, newest first, and the open (or else the last) job. */
export const DeviceDiskImagesSchema = z.object({
  images: z.array(DiskImageSchema),
  job: DiskImageJobSchema.nullable(),
});
export type DeviceDiskImages = z.infer<typeof DeviceDiskImagesSchema>;

/** `POST devices/:id/disk-images` ("Take full image now"): every target disk when `disks` is left out. */
export const DiskImageTakeRequestSchema = z
  .object({
    disks: z.array(DiskNameSchema).min(1).max(16).optional(),
  })
  .strict();
export type DiskImageTakeRequest = z.infer<typeof DiskImageTakeRequestSchema>;

/** `POST devices/:id/disk-images/:imageName/restore`: typed confirmation of the device's name. */
export const DiskImageRestoreRequestSchema = z
  .object({
    /** Must equal the device's name exactly. */
    confirmDeviceName: z.string().min(1).max(200),
    /** Which disk of the image onto which disk of the machine; default: each disk onto the disk of the same name. */
    targets: z
      .array(z.object({ imageDisk: DiskNameSchema, target: DiskNameSchema }).strict())
      .min(1)
      .max(16)
      .refine((t) => new Set(t.map((x) => x.target)).size === t.length, { message: 'each target disk at most once' })
      .refine((t) => new Set(t.map((x) => x.imageDisk)).size === t.length, { message: 'each image disk at most once' })
      .optional(),
  })
  .strict();
export type DiskImageRestoreRequest = z.infer<typeof DiskImageRestoreRequestSchema>;

export const DeviceImageParamSchema = z.object({ id: z.uuid(), imageName: DiskImageNameSchema }).strict();

export const DiskImageFleetQuerySchema = PageQuerySchema.strict();
export type DiskImageFleetQuery = z.infer<typeof DiskImageFleetQuerySchema>;

export const DiskImageFleetRowSchema = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  organizationId: z.uuid(),
  siteId: z.uuid(),
  lastImageName: DiskImageNameSchema.nullable(),
  lastImageAt: IsoDateTimeSchema.nullable(),
  /** Seconds since the last image was taken (null: none). */
  lastImageAgeSeconds: z.number().int().nullable(),
  lastImageCompressedBytes: z.number().int().nullable(),
  lastImageRawBytes: z.number().int().nullable(),
  images: z.number().int(),
  openJob: z
    .object({ id: z.uuid(), kind: DiskImageJobKindSchema, state: DiskImageJobStateSchema, createdAt: IsoDateTimeSchema })
    .nullable(),
  lastJobFailed: z.boolean(),
  /** FULL/HYBRID: when the next weekly image is due (null: no weekly image, or the site's zone is unknown). */
  nextImageAt: IsoDateTimeSchema.nullable(),
  /** FULL/HYBRID without a succeeded image for DISK_IMAGE_OVERDUE_DAYS. */
  overdue: z.boolean(),
});
export type DiskImageFleetRow = z.infer<typeof DiskImageFleetRowSchema>;
export const DiskImageFleetPageSchema = pageOf(DiskImageFleetRowSchema);

/** The answer to `POST agent/recovery/images`: recorded false when the same image was reported before (a retry). */
export const RecoveryImageReportAckSchema = z.object({ imageName: DiskImageNameSchema, recorded: z.boolean() }).strict();
