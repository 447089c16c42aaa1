import { z } from 'zod';

/**
 * What a scanner's agent reads from its Greenbone manager (gvmd) over GMP and sends as
 * `scannerStats` (agent/src/gmp/collect.ts). Additive to protocol 1; scanners only.
 *
 * Data minimisation is part of the contract: nothing here can carry a scanned host, a port, an
 * NVT name or a result. Tasks, scanners and feeds are described by ids, names, states, counts
 * and times; strict objects refuse any other field.
 */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/** Counts of things: finite, non-negative integers. */
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** ISO 8601 time as the agent normalised it (`Date#toISOString`), or null when gvmd gave none. */
const Time = z.iso.datetime({ offset: true }).max(40).nullable();
/** gvmd's ids are UUIDs; bounded text so an odd id never drops a whole report. */
const GmpId = Text(64);

export const MAX_SCANNER_STATS_TASKS = 200;

export const GMP_ERROR_CODES = ['socket_missing', 'refused', 'timeout', 'auth_failed', 'permission', 'protocol'] as const;
export const GmpErrorCodeSchema = z.enum(GMP_ERROR_CODES);
export type GmpErrorCode = z.infer<typeof GmpErrorCodeSchema>;

/**
 * The GMP session itself: whether it worked, how fast gvmd answered, its protocol version and
 * feature toggles. `reachable: false` means the session failed (`error` says how); then only
 * `version` and `latencyMs` may be filled (when get_version answered) and every other part of
 * the report is empty. With `reachable: true`, `error` names a part gvmd refused (e.g. a
 * permission) and only that part is empty.
 */
export const GmpStatusSchema = z
  .object({
    reachable: z.boolean(),
    /** Why the session failed (reachable false), or why a part of it did (e.g. a permission). */
    error: z
      .object({ code: GmpErrorCodeSchema, message: Text(300) })
      .strict()
      .nullable(),
    /** Round trip of get_version, in milliseconds. */
    latencyMs: z.number().int().min(0).max(600_000).nullable(),
    /** The GMP version gvmd reports (e.g. `22.5`; gvmd 24.2 still says 22.5). */
    version: Text(32).nullable(),
    /** get_features (gvmd 23.8 and later); null where gvmd does not know the command. */
    features: z
      .array(z.object({ name: Text(64), enabled: z.boolean() }).strict())
      .max(64)
      .nullable(),
  })
  .strict();
export type GmpStatus = z.infer<typeof GmpStatusSchema>;

/** One feed of get_feeds (NVT, SCAP, CERT, GVMD_DATA). The API computes its age from `version`. */
export const ScannerFeedSchema = z
  .object({
    type: Text(32),
    /** The feed's version, usually a `YYYYMMDDhhmm` timestamp; empty when gvmd cannot read it. */
    version: Text(64).nullable(),
    isSyncing: z.boolean(),
    /** When the running sync started, when gvmd says (NVT syncs carry no time). */
    syncingSince: Time,
    /** gvmd's `sync_not_available` text (scanner down, self-test failure). */
    syncError: Text(500).nullable(),
  })
  .strict();
export type ScannerFeed = z.infer<typeof ScannerFeedSchema>;

/** A scanner gvmd knows (get_scanners) and whether verify_scanner reached it. Never its host or port. */
export const ScannerEntrySchema = z
  .object({
    id: GmpId,
    name: Text(200),
    /** gvmd's scanner type number as text (2 = OpenVAS, 6 = openvasd, …). */
    type: Text(16).nullable(),
    /** null when not checked (verify_scanner not allowed or not tried). */
    reachable: z.boolean().nullable(),
    /** What verify_scanner answered (e.g. `OTP/2.0`, `22.4.1`). */
    version: Text(64).nullable(),
  })
  .strict();
export type ScannerEntry = z.infer<typeof ScannerEntrySchema>;

/** Result counts of a report by severity class. `critical` exists only on gvmd builds with CVSS 3 ratings. */
export const SeverityCountsSchema = z
  .object({
    critical: Count.nullable(),
    high: Count,
    medium: Count,
    low: Count,
    log: Count,
    falsePositive: Count,
  })
  .strict();
export type SeverityCounts = z.infer<typeof SeverityCountsSchema>;

export const ScannerTaskSchema = z
  .object({
    id: GmpId,
    name: Text(200),
    /** gvmd's status text: New, Requested, Queued, Running, Stop Requested, Stopped, Done, Interrupted, Processing… */
    status: Text(40),
    /** 0–100 while running; null when gvmd says -1 (not running). */
    progress: z.number().int().min(0).max(100).nullable(),
    currentScanStartedAt: Time,
    averageDurationSeconds: Count.nullable(),
    /** Computed from the task's schedule when it is a simple recurrence; null otherwise. */
    nextRunAt: Time,
    lastReport: z
      .object({
        id: GmpId,
        scanStartedAt: Time,
        scanEndedAt: Time,
        /** null for audit (compliance) tasks, whose reports carry no severity counts. */
        counts: SeverityCountsSchema.nullable(),
        /** Scan errors of the report (get_reports); null when not looked up in this poll. */
        errorCount: Count.nullable(),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type ScannerTask = z.infer<typeof ScannerTaskSchema>;

/** Totals of gvmd's objects (the `*_count` of rows=1 queries); null when not readable. */
export const ScannerTotalsSchema = z
  .object({
    tasks: Count.nullable(),
    targets: Count.nullable(),
    credentials: Count.nullable(),
    reports: Count.nullable(),
  })
  .strict();
export type ScannerTotals = z.infer<typeof ScannerTotalsSchema>;

/** A Greenbone feed data container image (filled by image discovery, later work). */
export const FeedDataImageSchema = z.object({ image: Text(200), createdAt: Time }).strict();
export type FeedDataImage = z.infer<typeof FeedDataImageSchema>;

/**
 * The Greenbone Community Edition's core services, as the vendor's compose file names them. On
 * scanners they are the container watch list: one entry each is reported, `missing` when the
 * compose project has no such container (openvasd exists only in newer compose files, so its
 * absence is not an error: it is left out rather than reported missing).
 */
export const SCANNER_CORE_SERVICES = ['gvmd', 'ospd-openvas', 'redis-server', 'pg-gvm', 'openvasd'] as const;
export const ScannerCoreServiceSchema = z.enum(SCANNER_CORE_SERVICES);
export type ScannerCoreService = z.infer<typeof ScannerCoreServiceSchema>;

/** One core container of the Greenbone compose project (or `missing`). */
export const CoreContainerSchema = z
  .object({
    service: ScannerCoreServiceSchema,
    /** The container's name; null when missing. */
    container: Text(256).nullable(),
    /** The image reference (its tag is the version the fleet view compares). */
    image: Text(512).nullable(),
    /** Docker's state (running, exited, restarting, …) or `missing`. */
    state: Text(32),
    restartCount: Count,
    /** When the container last started (Docker's State.StartedAt); the API's restart grace period counts from it. */
    startedAt: Time,
    /** The last OOM kill Docker reported for it (events), kept by the agent across polls; null: none seen. */
    lastOomKillAt: Time,
    memoryBytes: Count.nullable(),
  })
  .strict();
export type CoreContainer = z.infer<typeof CoreContainerSchema>;

/** How the agent found gvmd: compose labels and the /run/gvmd mount, a systemd unit, or the configured socket. */
export const ScannerDiscoverySchema = z
  .object({
    method: z.enum(['compose', 'systemd', 'configured']),
    composeProject: Text(128).nullable(),
    /** The gvmd container's name (compose), or the unit (systemd). */
    gvmd: Text(256).nullable(),
  })
  .strict();
export type ScannerDiscovery = z.infer<typeof ScannerDiscoverySchema>;

/** The filesystem holding Docker's data root (images, volumes: the feed data lives there). */
export const DockerDataUsageSchema = z.object({ path: Text(512), usedBytes: Count, totalBytes: Count }).strict();
export type DockerDataUsage = z.infer<typeof DockerDataUsageSchema>;

/**
 * Which GMP account the agent used: `monitor` is the least-privilege `xspectre-monitor` user the
 * provisioning command created (its secret stays on the device, root-only); `none`: no account yet,
 * so only get_version was asked.
 */
export const GMP_ACCOUNTS = ['none', 'monitor'] as const;
export const GmpAccountSchema = z.enum(GMP_ACCOUNTS);

export const ScannerStatsSchema = z
  .object({
    collectedAt: z.iso.datetime({ offset: true }).max(40),
    gmp: GmpStatusSchema,
    feeds: z.array(ScannerFeedSchema).max(16),
    /** Whether gvmd has a feed import owner (without one gvmd imports no configs, port lists, formats). */
    feedOwnerSet: z.boolean().nullable(),
    scanners: z.array(ScannerEntrySchema).max(64),
    /** At most 200 tasks, in gvmd's default order; `tasksTruncated` says more exist (see totals.tasks). */
    tasks: z.array(ScannerTaskSchema).max(MAX_SCANNER_STATS_TASKS),
    tasksTruncated: z.boolean(),
    totals: ScannerTotalsSchema,
    feedDataImages: z.array(FeedDataImageSchema).max(16).optional(),
    // Additive (issue 19's second part): discovery, the core containers, Docker's data filesystem.
    discovery: ScannerDiscoverySchema.nullable().optional(),
    account: GmpAccountSchema.optional(),
    coreContainers: z.array(CoreContainerSchema).max(SCANNER_CORE_SERVICES.length).optional(),
    dockerData: DockerDataUsageSchema.nullable().optional(),
    /** The host's RAM, so the API can judge Redis's memory as a share of it. */
    hostMemoryBytes: Count.nullable().optional(),
    /**
     * Whether gvmd still accepts the container default `admin`/`admin`: checked once by the
     * provisioning command and remembered by the agent; null: never checked.
     */
    defaultAdminPassword: z.boolean().nullable().optional(),
  })
  .strict();
export type ScannerStats = z.infer<typeof ScannerStatsSchema>;
