import { z } from 'zod';

/**
 * The backup server's wire contract: the claims of the short-lived tokens the API issues for
 * one device's restic repository (signed and verified in ./node/backup-token.ts), and the
 * capacity report the backup server sends to the API.
 */

export const BACKUP_TOKEN_ISSUER = 'xspectre-api';
export const BACKUP_TOKEN_AUDIENCE = 'xspectre-backup';
/** A token lives minutes: the API issues one per backup run or restore, never a standing credential. */
export const BACKUP_TOKEN_MAX_LIFETIME_SECONDS = 15 * 60;

/**
 * What a token allows on its device's repository (backup-server/src/access-rules.ts):
 * append = write new files, never delete or overwrite (nightly backups);
 * read = download (restore), plus the lock files a restore takes;
 * prune = everything, `restic forget --prune` included (issued by the API, never kept on a device).
 */
export const BackupTokenOpSchema = z.enum(['append', 'read', 'prune']);
export type BackupTokenOp = z.infer<typeof BackupTokenOpSchema>;

/**
 * What a disk-image token allows on its device's full-disk images (issue 16; the backup
 * server's `/disk-images/<device>/…` routes): image-append = create, resume and complete an
 * upload, never read or delete a published image; image-read = list and download (restore).
 * Kept apart from BackupTokenOpSchema (what the agent may ask the API for): a restic token
 * never opens images and an image token never a restic repository.
 */
export const DiskImageTokenOpSchema = z.enum(['image-append', 'image-read']);
export type DiskImageTokenOp = z.infer<typeof DiskImageTokenOpSchema>;

/** Every operation a backup token can carry. */
export const AnyBackupTokenOpSchema = z.enum([...BackupTokenOpSchema.options, ...DiskImageTokenOpSchema.options]);
export type AnyBackupTokenOp = z.infer<typeof AnyBackupTokenOpSchema>;

/** Bounds of the images-to-keep an image-append token may carry (the policy's own range is narrower: backups.ts). */
export const DISK_IMAGE_KEEP_MIN = 1;
export const DISK_IMAGE_KEEP_MAX = 20;

/** JWT NumericDate: whole seconds since the epoch, within a sane range. */
const NumericDate = z.number().int().min(1_500_000_000).max(10_000_000_000);

/**
 * The claims as they travel. `iss` and `aud` are plain strings here so a verifier can name a
 * wrong issuer or audience as such (verifyBackupToken); signBackupToken insists on the constants.
 */
export const BackupTokenClaimsSchema = z
  .object({
    iss: z.string().max(64),
    aud: z.string().max(64),
    /** The device id: the only repository (`/<sub>/`) or image store (`/disk-images/<sub>/`) the token opens. */
    sub: z.uuid(),
    op: AnyBackupTokenOpSchema,
    iat: NumericDate,
    nbf: NumericDate.optional(),
    exp: NumericDate,
    /** Token id, for the backup server's request log and the API's audit record. */
    jti: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8–64 characters of A–Z, a–z, 0–9, "_" or "-"'),
    /**
     * `image-append` only: the device's policy of full-disk images to keep; the backup server
     * prunes older published images after this upload's publish (absent: its BACKUP_IMAGE_KEEP).
     */
    keepImages: z.number().int().min(DISK_IMAGE_KEEP_MIN).max(DISK_IMAGE_KEEP_MAX).optional(),
  })
  .strict()
  .refine((c) => c.exp > c.iat, { message: 'exp must be after iat', path: ['exp'] })
  .refine((c) => c.nbf === undefined || c.nbf < c.exp, { message: 'nbf must be before exp', path: ['nbf'] })
  .refine((c) => c.keepImages === undefined || c.op === 'image-append', {
    message: 'keepImages is for image-append tokens',
    path: ['keepImages'],
  });
export type BackupTokenClaims = z.infer<typeof BackupTokenClaimsSchema>;

const Bytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The last finished (or the running) pool scrub; `zpool status` read by backup-server/src/storage/zpool-status.ts. */
export const BackupScrubResultSchema = z
  .object({
    /** none = never scrubbed; canceled = stopped before the end. */
    state: z.enum(['none', 'in_progress', 'finished', 'canceled']),
    /** When the last scrub ended (ISO 8601); null unless finished or canceled. */
    finishedAt: z.iso.datetime({ offset: true }).nullable(),
    /** Errors the last scrub found (0 = clean); null when unknown (none or in progress). */
    errors: z.number().int().min(0).nullable(),
  })
  .strict();
export type BackupScrubResult = z.infer<typeof BackupScrubResultSchema>;

export const BackupDeviceUsageSchema = z
  .object({
    deviceId: z.uuid(),
    /** Bytes the device's repository takes, ZFS snapshots of it included. */
    usedBytes: Bytes,
    /** The device's quota; null on the plain directory store, which has none. */
    quotaBytes: Bytes.nullable(),
    /** Floor snapshots (ZFS) currently kept of the device's repository; 0 on the plain store. */
    snapshotCount: z.number().int().min(0),
  })
  .strict();
export type BackupDeviceUsage = z.infer<typeof BackupDeviceUsageSchema>;

/** What the backup server reports about its storage, with its service credential. */
export const BackupCapacityReportSchema = z
  .object({
    generatedAt: z.iso.datetime({ offset: true }),
    store: z.enum(['zfs', 'directory']),
    pool: z
      .object({
        /** The ZFS pool, or the directory of the plain store. */
        name: z.string().min(1).max(4096),
        sizeBytes: Bytes,
        usedBytes: Bytes,
        freeBytes: Bytes,
      })
      .strict(),
    devices: z.array(BackupDeviceUsageSchema).max(100_000),
    /** null on the plain directory store (nothing to scrub). */
    lastScrub: BackupScrubResultSchema.nullable(),
  })
  .strict();
export type BackupCapacityReport = z.infer<typeof BackupCapacityReportSchema>;

// ---------------------------------------------------------------------------------------------
// Full-disk images (issue 16): the upload protocol and each image's metadata.json.

/** An image's name: its start time in UTC, `YYYY-MM-DDTHHMMSSZ` (sorts by time; no `:` for file systems). */
export const DISK_IMAGE_NAME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3])[0-5]\d[0-5]\dZ$/;
export const DiskImageNameSchema = z.string().regex(DISK_IMAGE_NAME, 'must be a UTC time, YYYY-MM-DDTHHMMSSZ');

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (SHA-256)');
/** A short free text from a device (model names, tool versions): printable, bounded. */
const ShortText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');
const Iso = z.iso.datetime({ offset: true });

export const DiskPartitionSchema = z
  .object({
    number: z.number().int().min(1).max(256),
    startBytes: Bytes,
    sizeBytes: Bytes,
    /** GPT type GUID or MBR type byte as text, e.g. `0x83`. */
    type: ShortText(64).optional(),
    /** File system as detected (ext4, vfat, ntfs …). */
    filesystem: ShortText(32).optional(),
    label: ShortText(128).optional(),
    uuid: ShortText(64).optional(),
  })
  .strict();

export const DiskPartitionTableSchema = z
  .object({
    type: z.enum(['gpt', 'mbr', 'none', 'unknown']),
    /** Disk identifier (GPT disk GUID or MBR signature). */
    id: ShortText(64).optional(),
    partitions: z.array(DiskPartitionSchema).max(256),
  })
  .strict();

/** One disk inside an image (the image holds the disks one after the other, in this order). */
export const DiskImageDiskSchema = z
  .object({
    /** Kernel name, e.g. `sda`, `nvme0n1`. */
    name: z.string().regex(/^[a-z][a-z0-9]{0,31}$/, 'must be a kernel disk name such as sda or nvme0n1'),
    model: ShortText(128),
    serial: ShortText(128).optional(),
    sizeBytes: Bytes,
    partitionTable: DiskPartitionTableSchema,
    /** SHA-256 of the raw disk as read. */
    sha256Raw: Sha256Hex,
  })
  .strict();

export const DiskImageMetadataSchema = z
  .object({
    deviceId: z.uuid(),
    imageName: DiskImageNameSchema,
    disks: z.array(DiskImageDiskSchema).min(1).max(16),
    sha256Compressed: Sha256Hex,
    compressedBytes: Bytes,
    rawBytes: Bytes,
    startedAt: Iso,
    finishedAt: Iso,
    durationSeconds: z
      .number()
      .finite()
      .min(0)
      .max(30 * 24 * 3600),
    tools: z
      .object({
        zstd: ShortText(64),
        agent: ShortText(64),
        kernel: ShortText(128).optional(),
        compressionLevel: z.number().int().min(-7).max(22).optional(),
      })
      .strict(),
  })
  .strict()
  .refine((m) => m.rawBytes === m.disks.reduce((sum, d) => sum + d.sizeBytes, 0), {
    message: "rawBytes must be the sum of the disks' sizes",
    path: ['rawBytes'],
  })
  .refine((m) => Date.parse(m.finishedAt) >= Date.parse(m.startedAt), {
    message: 'finishedAt must not be before startedAt',
    path: ['finishedAt'],
  });
export type DiskImageMetadata = z.infer<typeof DiskImageMetadataSchema>;

/** `POST /disk-images/<device>/uploads` (image-append). */
export const DiskImageUploadCreateSchema = z
  .object({
    imageName: DiskImageNameSchema,
    /** What the disks hold, raw (informational; the compressed size is unknown until the end). */
    expectedRawBytes: Bytes.optional(),
  })
  .strict();
export type DiskImageUploadCreate = z.infer<typeof DiskImageUploadCreateSchema>;

/** The answer to create (201 new, 200 resuming the open upload of the same name) and to `GET …/uploads/<id>`. */
export const DiskImageUploadStateSchema = z
  .object({
    uploadId: z.uuid(),
    imageName: DiskImageNameSchema,
    /** Bytes stored (and fsync'd): the next PATCH's Upload-Offset. */
    offset: Bytes,
  })
  .strict();
export type DiskImageUploadState = z.infer<typeof DiskImageUploadStateSchema>;

/** `POST /disk-images/<device>/uploads/<id>/complete` (image-append). */
export const DiskImageUploadCompleteSchema = z
  .object({
    sha256Compressed: Sha256Hex,
    compressedBytes: Bytes,
    metadata: DiskImageMetadataSchema,
  })
  .strict()
  .refine((c) => c.metadata.sha256Compressed === c.sha256Compressed && c.metadata.compressedBytes === c.compressedBytes, {
    message: "metadata.sha256Compressed and metadata.compressedBytes must equal the request's",
    path: ['metadata'],
  });
export type DiskImageUploadComplete = z.infer<typeof DiskImageUploadCompleteSchema>;

export const DiskImageListEntrySchema = z
  .object({
    imageName: DiskImageNameSchema,
    /** Size of `<imageName>.img.zst` on the store. */
    compressedBytes: Bytes,
    metadata: DiskImageMetadataSchema,
  })
  .strict();

/** `GET /disk-images/<device>/` (image-read): published images, newest first. */
export const DiskImageListSchema = z.object({ images: z.array(DiskImageListEntrySchema).max(100) }).strict();
export type DiskImageList = z.infer<typeof DiskImageListSchema>;
