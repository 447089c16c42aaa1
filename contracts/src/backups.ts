import { z } from 'zod';
import { IsoDateTimeSchema } from './common.js';
import { BackupCapacityReportSchema, BackupDeviceUsageSchema, BackupScrubResultSchema, BackupTokenOpSchema } from './backup-server.js';
import type { DeviceType } from './devices.js';
import { UNSTORABLE_TEXT_MESSAGE, isStorableText } from './storable-text.js';

/**
 * File backups with restic: a device's backup policy, its scheduled runs, and the short-lived
 * repository tokens an agent asks for while a run is under way.
 */

/**
 * OFF: nothing; FILE: nightly restic; FULL: a weekly full-disk image through the recovery stick
 * (no restic); HYBRID: both (FILE nightly + FULL weekly).
 */
export const BACKUP_MODES = ['OFF', 'FILE', 'FULL', 'HYBRID'] as const;
export const BackupModeSchema = z.enum(BACKUP_MODES);
export type BackupMode = z.infer<typeof BackupModeSchema>;
/** The modes a policy can be set to today. */
export const AVAILABLE_BACKUP_MODES: readonly BackupMode[] = BACKUP_MODES;
/** Modes with the nightly restic run. */
export const FILE_BACKUP_MODES: readonly BackupMode[] = ['FILE', 'HYBRID'];
/** Modes with the weekly full-disk image. */
export const IMAGE_BACKUP_MODES: readonly BackupMode[] = ['FULL', 'HYBRID'];

/** What FILE backs up by default: configuration, application data and Docker volumes; Greenbone's data on scanners. */
export const DEFAULT_BACKUP_PATHS: Record<DeviceType, readonly string[]> = {
  server: ['/etc', '/opt', '/home', '/srv', '/var/lib/docker/volumes'],
  scanner: ['/etc', '/opt', '/home', '/srv', '/var/lib/docker/volumes', '/var/lib/gvm', '/var/lib/openvas', '/etc/gvm', '/etc/openvas'],
};
/** restic exclude patterns applied by default: caches and scratch space nobody restores. */
export const DEFAULT_BACKUP_EXCLUDES: readonly string[] = ['/home/*/.cache', '*.tmp', '/var/lib/docker/volumes/*/_data/**/cache'];

export const BACKUP_DEFAULT_LOCAL_TIME = '02:00';
export const BACKUP_DEFAULT_KEEP_DAILY = 7;
export const BACKUP_DEFAULT_KEEP_WEEKLY = 4;
/** The weekly full-disk image (FULL, HYBRID): Sunday 03:00 in the site's time zone unless the policy says otherwise. */
export const IMAGE_WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export const ImageWeekdaySchema = z.enum(IMAGE_WEEKDAYS);
export type ImageWeekday = z.infer<typeof ImageWeekdaySchema>;
export const BACKUP_DEFAULT_IMAGE_WEEKDAY: ImageWeekday = 'sunday';
export const BACKUP_DEFAULT_IMAGE_LOCAL_TIME = '03:00';
/** Full-disk images kept per device (the backup server prunes older ones after each publish). */
export const BACKUP_KEEP_IMAGES_MIN = 2;
export const BACKUP_KEEP_IMAGES_MAX = 4;
export const BACKUP_DEFAULT_KEEP_IMAGES = 3;

const textOk = (s: string) => isStorableText(s) && !/\p{Cc}/u.test(s);

/** An absolute path to back up: no `..`, no control characters, bounded. */
export const BackupPathSchema = z
  .string()
  .min(2, 'must be an absolute path')
  .max(1024, 'must be at most 1024 characters')
  .regex(/^\//, 'must be an absolute path (start with /)')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".." segments')
  .refine(textOk, UNSTORABLE_TEXT_MESSAGE);

/** A restic `--exclude` pattern (glob), bounded; never an option (no leading "-"). */
export const BackupExcludeSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((p) => !p.startsWith('-'), 'must not start with "-"')
  .refine(textOk, UNSTORABLE_TEXT_MESSAGE);

/** HH:MM in the site's time zone. */
export const LocalTimeSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00–23:59)');

const uniqueStrings = (items: string[]) => new Set(items).size === items.length;

/** PUT devices/:id/backup-policy: the whole policy; fields left out take the defaults. */
export const BackupPolicyUpdateSchema = z
  .object({
    mode: BackupModeSchema,
    paths: z
      .array(BackupPathSchema)
      .min(1, 'name at least one path')
      .max(64, 'at most 64 paths')
      .refine(uniqueStrings, 'paths must be distinct')
      .optional(),
    excludes: z.array(BackupExcludeSchema).max(64, 'at most 64 excludes').refine(uniqueStrings, 'excludes must be distinct').optional(),
    localTime: LocalTimeSchema.optional().describe("when the nightly backup starts, in the site's time zone"),
    keepDaily: z.number().int().min(1).max(365).optional(),
    keepWeekly: z.number().int().min(0).max(104).optional(),
    imageWeekday: ImageWeekdaySchema.optional().describe("FULL/HYBRID: the day of the weekly full-disk image, in the site's time zone"),
    imageLocalTime: LocalTimeSchema.optional().describe("FULL/HYBRID: when the weekly full-disk image starts, in the site's time zone"),
    keepImages: z
      .number()
      .int('must be a whole number')
      .min(BACKUP_KEEP_IMAGES_MIN, `must be ${BACKUP_KEEP_IMAGES_MIN}–${BACKUP_KEEP_IMAGES_MAX} (full-disk images kept)`)
      .max(BACKUP_KEEP_IMAGES_MAX, `must be ${BACKUP_KEEP_IMAGES_MIN}–${BACKUP_KEEP_IMAGES_MAX} (full-disk images kept)`)
      .optional()
      .describe('FULL/HYBRID: full-disk images kept; older ones are pruned by the backup server'),
  })
  .strict();
export type BackupPolicyUpdate = z.infer<typeof BackupPolicyUpdateSchema>;

export const BackupPolicySchema = z.object({
  deviceId: z.uuid(),
  mode: BackupModeSchema,
  paths: z.array(z.string()),
  excludes: z.array(z.string()),
  localTime: z.string(),
  keepDaily: z.number().int(),
  keepWeekly: z.number().int(),
  /** The site's IANA time zone the schedule is read in. */
  timeZone: z.string(),
  /** When the next nightly run is due (null unless FILE or HYBRID). */
  nextRunAt: z.string().nullable(),
  imageWeekday: ImageWeekdaySchema,
  imageLocalTime: z.string(),
  keepImages: z.number().int(),
  /** When the next weekly full-disk image is due (null unless FULL or HYBRID). */
  nextImageAt: z.string().nullable(),
  /** false: the defaults of the device's type, never edited. */
  customized: z.boolean(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type BackupPolicy = z.infer<typeof BackupPolicySchema>;

export const BACKUP_RUN_KINDS = ['backup', 'check', 'restore'] as const;
export const BackupRunKindSchema = z.enum(BACKUP_RUN_KINDS);
export type BackupRunKind = z.infer<typeof BackupRunKindSchema>;
export const BACKUP_RUN_STATUSES = ['scheduled', 'running', 'succeeded', 'failed', 'missed'] as const;
export const BackupRunStatusSchema = z.enum(BACKUP_RUN_STATUSES);

export const BackupRunSchema = z.object({
  id: z.uuid(),
  deviceId: z.uuid(),
  kind: BackupRunKindSchema,
  /** The device-local date of a scheduled run's slot (one run per device, kind and date); null when started by hand. */
  slotDate: z.string().nullable(),
  dueAt: z.string(),
  status: BackupRunStatusSchema,
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  /** The `backup.run` or `backup.restore` command carrying it, once the device polled. */
  commandId: z.uuid().nullable(),
  /** Who asked for it by hand (null: the nightly schedule). */
  requestedBy: z.string().nullable(),
  /** A restore's snapshot, paths and target. */
  get request() {
    return BackupRestoreRequestSchema.nullable();
  },
  /** What restic made, for a succeeded backup. */
  get summary() {
    return BackupRunSummarySchema.nullable();
  },
  /** A running run's latest progress (null before the first report and once finished). */
  get progress() {
    return BackupProgressSchema.nullable();
  },
  /** When the progress was reported. */
  progressAt: z.string().nullable(),
  /** A backup's weekly check, when this run did one. */
  check: z.object({ ok: z.boolean(), subset: z.string(), error: z.string().nullable() }).nullable(),
});
export type BackupRun = z.infer<typeof BackupRunSchema>;
export const BackupRunPageSchema = z.object({ items: z.array(BackupRunSchema) });
export const BackupRunsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

/** POST agent/backup-tokens: a token for the run the agent is carrying out. */
export const AgentBackupTokenRequestSchema = z.object({ runId: z.uuid(), op: BackupTokenOpSchema }).strict();
export type AgentBackupTokenRequest = z.infer<typeof AgentBackupTokenRequestSchema>;
export const AgentBackupTokenResponseSchema = z.object({
  token: z.string(),
  op: BackupTokenOpSchema,
  expiresAt: z.string(),
  /** The repository, without credentials: restic takes `rest:http://<deviceId>:<token>@host:port/<deviceId>/`. */
  repositoryUrl: z.string(),
});
export type AgentBackupTokenResponse = z.infer<typeof AgentBackupTokenResponseSchema>;

/** GET backups/token-keys: what the backup server verifies repository tokens with (current first). */
export const BackupTokenKeysSchema = z.object({
  keys: z.array(z.object({ keyId: z.string(), publicKeyPem: z.string() })),
});
export type BackupTokenKeys = z.infer<typeof BackupTokenKeysSchema>;

/** Device usages per report request: the backup server sends a large fleet in several requests. */
export const BACKUP_REPORT_MAX_DEVICES = 2000;
/** POST backup-server/report (service credential): the capacity report, at most BACKUP_REPORT_MAX_DEVICES device usages per request. */
export const BackupServerReportSchema = BackupCapacityReportSchema.extend({
  devices: z
    .array(BackupDeviceUsageSchema)
    .max(BACKUP_REPORT_MAX_DEVICES, `at most ${BACKUP_REPORT_MAX_DEVICES} devices per request: send the rest in further requests`),
});
export type BackupServerReport = z.infer<typeof BackupServerReportSchema>;
export const BackupServerReportAckSchema = z.object({ devicesRecorded: z.number().int(), devicesUnknown: z.number().int() });

/** GET backups/capacity: each backup server's latest report. */
export const BackupCapacitySchema = z.object({
  servers: z.array(
    z.object({
      credentialId: z.uuid(),
      name: z.string(),
      receivedAt: z.string(),
      generatedAt: z.string(),
      store: z.enum(['zfs', 'directory']),
      pool: z.object({ name: z.string(), sizeBytes: z.number(), usedBytes: z.number(), freeBytes: z.number() }),
      lastScrub: BackupScrubResultSchema.nullable(),
      /** Devices whose usage this server reported, and their bytes. */
      devices: z.number().int(),
      deviceBytes: z.number(),
    }),
  ),
});
export type BackupCapacity = z.infer<typeof BackupCapacitySchema>;

/** The weekly verification: `restic check --read-data-subset` reads this share of the data back. */
export const BACKUP_CHECK_INTERVAL_DAYS = 7;
export const BACKUP_CHECK_READ_DATA_SUBSET = '10%';

/** An age X25519 recipient (public key, Bech32 `age1…`). */
export const AgeRecipientSchema = z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, 'must be an age X25519 public key (age1…)');
/** An ASCII-armored age file, bounded (a repository password encrypted to one or two recipients). */
export const AgeArmoredSchema = z
  .string()
  .max(4096, 'must be at most 4096 characters')
  .regex(
    /^-----BEGIN AGE ENCRYPTED FILE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END AGE ENCRYPTED FILE-----\r?\n?$/,
    'must be an ASCII-armored age file',
  );

/**
 * `backup.run` (queued only by the API, when a scheduled run is due at the device's poll): the
 * run and the policy as it was when the run started, signed like every command.
 */
export const BackupRunParamsSchema = z
  .object({
    runId: z.uuid(),
    repositoryUrl: z.url({ protocol: /^https?$/ }).max(512),
    paths: z.array(BackupPathSchema).min(1).max(64),
    excludes: z.array(BackupExcludeSchema).max(64),
    keepDaily: z.number().int().min(1).max(365),
    keepWeekly: z.number().int().min(0).max(104),
    /** Also `restic check --read-data-subset=BACKUP_CHECK_READ_DATA_SUBSET` after the backup: the API asks weekly. */
    check: z.boolean(),
    /**
     * The offline recovery key the repository password is to be escrowed to: the agent encrypts
     * its password to it and puts the ciphertext in its result line. Null when the API already
     * holds an escrow to the current recovery key (or none is set).
     */
    escrowRecipient: AgeRecipientSchema.nullable(),
  })
  .strict();
export type BackupRunParams = z.infer<typeof BackupRunParamsSchema>;

/** What the agent prints on stdout as the last line of a successful `backup.run` (the snapshot restic made). */
export const BackupRunSummarySchema = z
  .object({
    snapshotId: z.string().regex(/^[0-9a-f]{8,64}$/),
    filesNew: z.number().int().min(0),
    filesChanged: z.number().int().min(0),
    filesUnmodified: z.number().int().min(0),
    dataAddedBytes: z.number().int().min(0),
    totalFiles: z.number().int().min(0),
    totalBytes: z.number().int().min(0),
    durationSeconds: z
      .number()
      .min(0)
      .max(10 * 24 * 3600),
    unreadableFiles: z.number().int().min(0),
  })
  .strict();
export type BackupRunSummary = z.infer<typeof BackupRunSummarySchema>;

const SnapshotIdSchema = z.string().regex(/^[0-9a-f]{8,64}$/, 'a restic snapshot id (8–64 hex digits)');

/** One snapshot as the device's repository lists it (`restic snapshots --json`): the catalog is synced from these. */
export const BackupSnapshotListingSchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{64}$/, 'a full restic snapshot id (64 hex digits)'),
    time: IsoDateTimeSchema,
  })
  .strict();
export type BackupSnapshotListing = z.infer<typeof BackupSnapshotListingSchema>;
/** Most snapshots one result line lists (7 daily + 4 weekly keeps about a dozen; the rest is slack for hand runs). */
export const BACKUP_SNAPSHOT_LISTING_MAX = 300;

/**
 * The last line of a successful `backup.run`'s stdout (one JSON object): the snapshot restic
 * made, the repository's snapshots after forget/prune, the weekly check's result when one was
 * asked for, and the escrowed password when one was asked for.
 */
export const BackupRunResultSchema = z
  .object({
    summary: BackupRunSummarySchema,
    snapshots: z.array(BackupSnapshotListingSchema).max(BACKUP_SNAPSHOT_LISTING_MAX),
    check: z
      .object({ ok: z.boolean(), subset: z.string().max(16), error: z.string().max(500).nullable() })
      .strict()
      .nullable(),
    escrow: z.object({ recipient: AgeRecipientSchema, ciphertext: AgeArmoredSchema }).strict().nullable(),
  })
  .strict();
export type BackupRunResult = z.infer<typeof BackupRunResultSchema>;

/** A running backup's or restore's progress (restic's status lines), as the agent posts it at most every few seconds. */
export const BackupProgressSchema = z
  .object({
    phase: z.enum(['init', 'backup', 'forget', 'check', 'restore']),
    percentDone: z.number().min(0).max(1),
    filesDone: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    totalFiles: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    bytesDone: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    totalBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    secondsElapsed: z
      .number()
      .min(0)
      .max(10 * 24 * 3600),
    secondsRemaining: z
      .number()
      .min(0)
      .max(10 * 24 * 3600)
      .nullable(),
  })
  .strict();
export type BackupProgress = z.infer<typeof BackupProgressSchema>;
/** POST agent/backup-progress: the progress of the device's own running run. */
export const AgentBackupProgressSchema = z.object({ runId: z.uuid(), progress: BackupProgressSchema }).strict();
export type AgentBackupProgress = z.infer<typeof AgentBackupProgressSchema>;
/** The answer to a progress post: the run and when the API took it. */
export const AgentBackupProgressAckSchema = z.object({ runId: z.uuid(), progressAt: z.string() });
/** The agent posts progress at most this often per run. */
export const BACKUP_PROGRESS_INTERVAL_SECONDS = 2;

/**
 * POST agent/backup-transfer-key: the public half of an age key the device made for receiving a
 * repository password (restoring another device's backups onto this one); the private half never
 * leaves the device.
 */
export const AgentBackupTransferKeySchema = z.object({ recipient: AgeRecipientSchema }).strict();
export type AgentBackupTransferKey = z.infer<typeof AgentBackupTransferKeySchema>;

/** POST devices/:id/backup-restores: chosen paths of a snapshot, to where they were or to another directory. */
export const BackupRestoreRequestSchema = z
  .object({
    snapshotId: SnapshotIdSchema,
    paths: z
      .array(BackupPathSchema)
      .min(1, 'name at least one path')
      .max(64, 'at most 64 paths')
      .refine(uniqueStrings, 'paths must be distinct'),
    target: z.discriminatedUnion('mode', [
      z.object({ mode: z.literal('original') }).strict(),
      z.object({ mode: z.literal('alternate'), directory: BackupPathSchema }).strict(),
    ]),
    /**
     * New hardware: restore another device's backups onto this one. The password is the one a
     * Super Admin decrypted offline from that device's escrow, encrypted in the console to this
     * device's transfer key (`AgentBackupTransferKeySchema`): the API never sees it in clear.
     */
    source: z.object({ deviceId: z.uuid(), passwordCiphertext: AgeArmoredSchema }).strict().optional(),
  })
  .strict();
export type BackupRestoreRequest = z.infer<typeof BackupRestoreRequestSchema>;

/** `backup.restore` (queued only by the API for a restore an operator asked for, with step-up). */
export const BackupRestoreParamsSchema = z
  .object({
    runId: z.uuid(),
    repositoryUrl: z.url({ protocol: /^https?$/ }).max(512),
    snapshotId: SnapshotIdSchema,
    include: z.array(BackupPathSchema).min(1).max(64),
    /** `/` for the original place, else the alternate directory. */
    target: BackupPathSchema.or(z.literal('/')),
    /**
     * Restoring another device's backups onto this one (new hardware): the repository is that
     * device's, and its password comes encrypted to this device's transfer key (never in clear).
     * Null: the device's own repository and password.
     */
    source: z.object({ deviceId: z.uuid(), passwordCiphertext: AgeArmoredSchema }).strict().nullable(),
  })
  .strict();
export type BackupRestoreParams = z.infer<typeof BackupRestoreParamsSchema>;

/** A backup is overdue when a FILE (or HYBRID) device has had no successful one for this long. */
export const BACKUP_OVERDUE_HOURS = 26;

/** GET backups: the fleet's devices that back up, with their last run and last success. */
export const BackupFleetQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    /** failing: the last backup run failed; overdue: no success within BACKUP_OVERDUE_HOURS. */
    filter: z.enum(['failing', 'overdue']).optional(),
  })
  .strict();
export type BackupFleetQuery = z.infer<typeof BackupFleetQuerySchema>;

export const BackupFleetRowSchema = z.object({
  deviceId: z.uuid(),
  deviceName: z.string(),
  organizationId: z.uuid(),
  siteId: z.uuid(),
  mode: BackupModeSchema,
  lastRunAt: z.string().nullable(),
  lastRunStatus: BackupRunStatusSchema.nullable(),
  lastRunError: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  lastSnapshotId: z.string().nullable(),
  overdue: z.boolean(),
  /** "Last verified restorable": the last successful `restic check --read-data-subset`. */
  lastVerifiedAt: z.string().nullable(),
  /** The last check's outcome (null: never checked). */
  lastCheckOk: z.boolean().nullable(),
  /** What the backup server last reported for the device's repository. */
  usedBytes: z.number().nullable(),
  quotaBytes: z.number().nullable(),
});
export type BackupFleetRow = z.infer<typeof BackupFleetRowSchema>;
export const BackupFleetPageSchema = z.object({
  items: z.array(BackupFleetRowSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

/** GET devices/:id/backup-snapshots: the device's catalog, newest first, synced from each run's listing. */
export const BackupSnapshotSchema = z.object({
  snapshotId: z.string(),
  time: z.string(),
  /** The paths the run that made it backed up (null: a snapshot no run of ours made). */
  paths: z.array(z.string()).nullable(),
  /** From the making run's restic summary (null when unknown). */
  totalBytes: z.number().nullable(),
  dataAddedBytes: z.number().nullable(),
  totalFiles: z.number().nullable(),
  durationSeconds: z.number().nullable(),
  runId: z.uuid().nullable(),
});
export type BackupSnapshot = z.infer<typeof BackupSnapshotSchema>;
export const BackupSnapshotPageSchema = z.object({
  items: z.array(BackupSnapshotSchema),
  /** When the catalog was last synced from the device's repository (null: never). */
  syncedAt: z.string().nullable(),
  /** "Last verified restorable": the last successful check (null: never). */
  lastVerifiedAt: z.string().nullable(),
});
export type BackupSnapshotPage = z.infer<typeof BackupSnapshotPageSchema>;

/** GET/PUT backups/recovery-key (Super Admin, step-up): the offline recovery key repository passwords are escrowed to. */
export const BackupRecoveryKeyUpdateSchema = z.object({ recipient: AgeRecipientSchema }).strict();
export type BackupRecoveryKeyUpdate = z.infer<typeof BackupRecoveryKeyUpdateSchema>;
export const BackupRecoveryKeySchema = z.object({
  recipient: AgeRecipientSchema.nullable(),
  setAt: z.string().nullable(),
  setBy: z.string().nullable(),
  /** Devices backing up whose escrow is to this key, and those still to escrow (at their next run). */
  devicesEscrowed: z.number().int(),
  devicesPending: z.number().int(),
});
export type BackupRecoveryKey = z.infer<typeof BackupRecoveryKeySchema>;

/** GET devices/:id/backup-escrow (Super Admin, audited): the password ciphertext, to decrypt offline with the recovery key. */
export const BackupEscrowSchema = z.object({
  deviceId: z.uuid(),
  recipient: AgeRecipientSchema,
  ciphertext: AgeArmoredSchema,
  escrowedAt: z.string(),
});
export type BackupEscrow = z.infer<typeof BackupEscrowSchema>;

/** GET devices/:id/backup-transfer-key: the key a (replacement) device made to receive a password (null: none reported). */
export const BackupTransferKeySchema = z.object({
  deviceId: z.uuid(),
  recipient: AgeRecipientSchema.nullable(),
  reportedAt: z.string().nullable(),
});
export type BackupTransferKey = z.infer<typeof BackupTransferKeySchema>;
