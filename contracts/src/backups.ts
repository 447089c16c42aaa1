import { z } from 'zod';
import { BackupCapacityReportSchema, BackupDeviceUsageSchema, BackupScrubResultSchema, BackupTokenOpSchema } from './backup-server.js';
import type { DeviceType } from './devices.js';
import { UNSTORABLE_TEXT_MESSAGE, isStorableText } from './storable-text.js';

/**
 * File backups with restic: a device's backup policy, its scheduled runs, and the short-lived
 * repository tokens an agent asks for while a run is under way.
 */

/** OFF: nothing; FILE: nightly restic; FULL / HYBRID: disk images (not built yet, refused). */
export const BACKUP_MODES = ['OFF', 'FILE', 'FULL', 'HYBRID'] as const;
export const BackupModeSchema = z.enum(BACKUP_MODES);
export type BackupMode = z.infer<typeof BackupModeSchema>;
/** The modes a policy can be set to today. */
export const AVAILABLE_BACKUP_MODES: readonly BackupMode[] = ['OFF', 'FILE'];

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
  /** When the next nightly run is due (null while OFF). */
  nextRunAt: z.string().nullable(),
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
  })
  .strict();
export type BackupRestoreParams = z.infer<typeof BackupRestoreParamsSchema>;

/** A backup is overdue when a FILE device has had no successful one for this long. */
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
