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
    /** The device id: the only repository (`/<sub>/`) the token opens. */
    sub: z.uuid(),
    op: BackupTokenOpSchema,
    iat: NumericDate,
    nbf: NumericDate.optional(),
    exp: NumericDate,
    /** Token id, for the backup server's request log and the API's audit record. */
    jti: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8–64 characters of A–Z, a–z, 0–9, "_" or "-"'),
  })
  .strict()
  .refine((c) => c.exp > c.iat, { message: 'exp must be after iat', path: ['exp'] })
  .refine((c) => c.nbf === undefined || c.nbf < c.exp, { message: 'nbf must be before exp', path: ['nbf'] });
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
