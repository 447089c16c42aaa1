import { z } from 'zod';
import { IsoDateTimeSchema, NameSchema, PageQuerySchema, pageOf } from './common.js';
import { DeviceEventTypeSchema, EventSeveritySchema } from './inventory.js';
import { MAX_LOAD_AVERAGE, MAX_RESTART_COUNT } from './telemetry.js';
import { UNSTORABLE_TEXT_MESSAGE, isStorableText } from './storable-text.js';

/**
 * The alert engine's wire contract: rules, alerts, silences, delivery targets and deliveries.
 * A rule is one `kind` with strict `params`; later features add kinds (ALERT_RULE_PARAMS) and the
 * engine evaluates them through the condition source registered for the kind.
 */

export const AlertSeveritySchema = EventSeveritySchema;
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;
export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export const AlertStateSchema = z.enum(ALERT_STATES);
export type AlertState = z.infer<typeof AlertStateSchema>;

const Note = z.string().trim().max(2000, 'must be at most 2000 characters').refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

/** Seconds a condition must hold before it alerts: 0 (at once) to a day. */
const ForSeconds = z.number().int().min(0).max(86_400);

/** Metrics a threshold rule can watch. Percent metrics are 0–100; load is the absolute load average. */
export const ALERT_METRICS = ['cpu', 'memory', 'swap', 'load1', 'load5', 'load15', 'disk', 'inodes'] as const;
export const AlertMetricSchema = z.enum(ALERT_METRICS);
export type AlertMetric = z.infer<typeof AlertMetricSchema>;
/** Per-mount metrics: one condition (subject) per mountpoint. */
export const PER_MOUNT_METRICS: readonly AlertMetric[] = ['disk', 'inodes'];
export const isPercentMetric = (m: AlertMetric) => !m.startsWith('load');

/** A mountpoint, or a prefix with a trailing `*` (`/var/*`). */
const MountFilter = z
  .string()
  .min(1)
  .max(512)
  .regex(/^\/[^\p{Cc}]*$/u, 'an absolute mountpoint such as /var, optionally ending in *');

export const MetricRuleParamsSchema = z
  .object({
    metric: AlertMetricSchema,
    /** Breaches at or above this value. */
    threshold: z.number().finite().min(0).max(MAX_LOAD_AVERAGE),
    /** Clears only below this value (hysteresis); defaults to the threshold minus 5 % of it. */
    clearBelow: z.number().finite().min(0).max(MAX_LOAD_AVERAGE).optional(),
    forSeconds: ForSeconds,
    /** disk/inodes only: the mounts watched (default: all reported). */
    mounts: z.array(MountFilter).max(32).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (isPercentMetric(p.metric) && p.threshold > 100)
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `must be at most 100 (percent) for ${p.metric}` });
    if (isPercentMetric(p.metric) && p.threshold <= 0)
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'must be above 0 (a threshold of 0 % always breaches)' });
    if (p.clearBelow !== undefined && p.clearBelow > p.threshold)
      ctx.addIssue({ code: 'custom', path: ['clearBelow'], message: 'must not exceed threshold' });
    if (p.mounts && !PER_MOUNT_METRICS.includes(p.metric))
      ctx.addIssue({ code: 'custom', path: ['mounts'], message: 'only for disk and inodes' });
  });
export type MetricRuleParams = z.infer<typeof MetricRuleParamsSchema>;

/** A systemd unit name, or `*` for every unit the device reports. */
const UnitFilter = z
  .string()
  .max(256)
  .regex(/^(\*|[A-Za-z0-9_@:][A-Za-z0-9:_.@\\-]*)$/, 'a systemd unit name such as nginx.service, or *');

/**
 * `failed`: a reported unit is in the failed state. `not_active`: a watched unit is reported but
 * not active. A watched unit that is not installed is not reported by the agent at all, so it
 * raises nothing: the default watch list names units (gvmd, ospd-openvas) that scanners running
 * Greenbone in Docker do not have, and "not installed" is that device's normal state. There the
 * compose project's core containers are the watch list, missing ones included (`coreContainers`
 * of scannerStats, judged by `scanner` rules); a `container` rule watches any other container.
 */
export const UnitRuleParamsSchema = z
  .object({
    condition: z.enum(['failed', 'not_active']),
    units: z.array(UnitFilter).min(1).max(64).default(['*']),
    forSeconds: ForSeconds,
  })
  .strict();
export type UnitRuleParams = z.infer<typeof UnitRuleParamsSchema>;

const ContainerFilter = z
  .string()
  .max(256)
  .regex(/^(\*|[A-Za-z0-9][A-Za-z0-9_.-]*)$/, 'a container name, or *');

/**
 * `not_running`: state other than running; `unhealthy`: its health check fails;
 * `restarting`: Docker shows it restarting, or its restart count grew by `restarts` or more
 * within `windowSeconds`.
 */
export const ContainerRuleParamsSchema = z
  .object({
    condition: z.enum(['not_running', 'unhealthy', 'restarting']),
    containers: z.array(ContainerFilter).min(1).max(64).default(['*']),
    forSeconds: ForSeconds,
    restarts: z.number().int().min(1).max(MAX_RESTART_COUNT).default(3),
    windowSeconds: z.number().int().min(60).max(86_400).default(900),
  })
  .strict();
export type ContainerRuleParams = z.infer<typeof ContainerRuleParamsSchema>;

export const OfflineRuleParamsSchema = z
  .object({
    afterSeconds: z
      .number()
      .int()
      .min(30)
      .max(7 * 86_400),
  })
  .strict();
export const TunnelRuleParamsSchema = z
  .object({
    staleAfterSeconds: z
      .number()
      .int()
      .min(180)
      .max(7 * 86_400),
  })
  .strict();
/** One alert per device event of this type; `resolvedBy` auto-resolves it (fingerprint.accepted). */
export const EventRuleParamsSchema = z
  .object({ eventType: DeviceEventTypeSchema, resolvedBy: DeviceEventTypeSchema.optional() })
  .strict()
  .refine((p) => p.resolvedBy !== p.eventType, { path: ['resolvedBy'], message: 'must differ from eventType' });
/** The device runs another agent build than the API serves, for this long. */
export const AgentOutdatedRuleParamsSchema = z.object({ forSeconds: ForSeconds }).strict();
/** Share of active devices (in scope) offline: fleet-level, one alert for the fleet. */
export const FleetOfflineRuleParamsSchema = z
  .object({
    sharePercent: z.number().min(1).max(100),
    clearBelowPercent: z.number().min(0).max(100).optional(),
    /** Below this many active devices the share is not judged (2 of 3 offline is not a fleet outage). */
    minDevices: z.number().int().min(1).max(100_000).default(5),
  })
  .strict()
  .refine((p) => p.clearBelowPercent === undefined || p.clearBelowPercent <= p.sharePercent, {
    path: ['clearBelowPercent'],
    message: 'must not exceed sharePercent',
  });

/**
 * A backup server's pool (its latest capacity report) at or above this share of its size:
 * fleet-level, one alert per backup server (they belong to no organization, so the rule's scope
 * does not narrow it).
 */
export const BackupPoolRuleParamsSchema = z
  .object({
    usedPercent: z.number().min(1).max(100),
    /** Resolves below this (default: usedPercent − 5). */
    clearBelowPercent: z.number().min(0).max(100).optional(),
  })
  .strict()
  .refine((p) => p.clearBelowPercent === undefined || p.clearBelowPercent <= p.usedPercent, {
    path: ['clearBelowPercent'],
    message: 'must not exceed usedPercent',
  });
/** A backup server's last scrub found at least `minErrors` errors: fleet-level, one alert per backup server, resolved by a scrub below that. */
export const BackupScrubRuleParamsSchema = z.object({ minErrors: z.number().int().min(1).max(1_000_000_000).default(1) }).strict();

/**
 * Scanner checks (issue 19), judged by the API from each scanner's latest GMP report and the
 * history it keeps (api/src/scanners). Each check's `threshold` is in the unit named here (null:
 * a yes/no check that takes none). Two rules of one check at two thresholds (warning 3 days,
 * critical 7) form a ladder: only the highest threshold breached raises, so a feed going from 5
 * to 8 days old resolves the warning and opens the critical alert, never both.
 *
 * Suppression: a device offline raises no scanner alerts; a report older than two polls
 * (SCANNER_STATS_STALE_SECONDS) raises no content alerts (feeds, tasks, containers, disk); GMP
 * unreachable hides feed and scan alerts; for SCANNER_RESTART_GRACE_SECONDS after a core
 * container started, the checks that depend on it hold their state.
 */
export const SCANNER_CHECK_UNITS = {
  /** Age of the feed's version time (YYYYMMDDhhmm) in hours. */
  nvt_feed_age: 'hours',
  scap_feed_age: 'hours',
  cert_feed_age: 'hours',
  /** A feed syncing for this many hours. */
  feed_syncing: 'hours',
  /** gvmd reports its scanner (ospd-openvas / openvasd) unreachable or the feed sync not available. */
  scanner_down: null,
  /** GMP unreachable in this many successive reports. */
  gmp_unreachable: 'polls',
  gmp_auth_failed: null,
  /** A core container of the compose project is missing altogether (a stopped one is a `container` rule's). */
  core_container_missing: null,
  /** A core container was OOM-killed within this many minutes. */
  core_container_oom: 'minutes',
  /** redis-server's memory as a percentage of the host's RAM. */
  redis_memory: 'percent',
  /** A task `Requested` for this many minutes. */
  task_requested: 'minutes',
  /** A task `Running` whose progress has not moved for this many hours. */
  task_frozen: 'hours',
  /** A task whose last run ended `Interrupted`. */
  task_interrupted: null,
  /** A task's scheduled run this many minutes overdue without starting. */
  task_run_missed: 'minutes',
  /** No scan finished on the scanner for this many days (scanners with at least one task). */
  no_finished_scan: 'days',
  /** Docker's data filesystem at or above this percentage. */
  docker_data_used: 'percent',
  /** Docker's data filesystem full within this many days at the last week's growth. */
  docker_data_full_in: 'days',
  /** A core container's image behind the fleet's newest for this many days. */
  version_drift: 'days',
  /** gvmd still accepts the container default admin/admin. */
  default_admin_password: null,
} as const;
export type ScannerCheck = keyof typeof SCANNER_CHECK_UNITS;
export const SCANNER_CHECKS = Object.keys(SCANNER_CHECK_UNITS) as ScannerCheck[];
export const ScannerCheckSchema = z.enum(SCANNER_CHECKS as [ScannerCheck, ...ScannerCheck[]]);
/** After a core container (re)started, the checks that depend on it hold for this long. */
export const SCANNER_RESTART_GRACE_SECONDS = 10 * 60;

export const ScannerRuleParamsSchema = z
  .object({
    check: ScannerCheckSchema,
    /** In the check's unit (SCANNER_CHECK_UNITS); absent for yes/no checks. */
    threshold: z.number().finite().min(0).max(1_000_000).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const unit = SCANNER_CHECK_UNITS[p.check];
    if (unit === null && p.threshold !== undefined)
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `${p.check} is a yes/no check: it takes no threshold` });
    if (unit !== null && p.threshold === undefined)
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `${p.check} needs a threshold in ${unit}` });
    if (unit === 'percent' && p.threshold !== undefined && (p.threshold <= 0 || p.threshold > 100))
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a percentage above 0 and at most 100' });
  });
export type ScannerRuleParams = z.infer<typeof ScannerRuleParamsSchema>;

/** Every rule kind and its parameters. New kinds are added here and get a condition source in the API. */
export const ALERT_RULE_PARAMS = {
  metric: MetricRuleParamsSchema,
  unit: UnitRuleParamsSchema,
  container: ContainerRuleParamsSchema,
  offline: OfflineRuleParamsSchema,
  tunnel: TunnelRuleParamsSchema,
  event: EventRuleParamsSchema,
  agent_outdated: AgentOutdatedRuleParamsSchema,
  fleet_offline: FleetOfflineRuleParamsSchema,
  backup_pool: BackupPoolRuleParamsSchema,
  backup_scrub: BackupScrubRuleParamsSchema,
  scanner: ScannerRuleParamsSchema,
} as const;
export type AlertRuleKind = keyof typeof ALERT_RULE_PARAMS;
export const ALERT_RULE_KINDS = Object.keys(ALERT_RULE_PARAMS) as AlertRuleKind[];
export const AlertRuleKindSchema = z.enum(ALERT_RULE_KINDS as [AlertRuleKind, ...AlertRuleKind[]]);
/** Kinds judged for the fleet as a whole (no device). */
export const FLEET_RULE_KINDS: readonly AlertRuleKind[] = ['fleet_offline', 'backup_pool', 'backup_scrub'];

/** Rule variants: kind + params, one strict object per kind. */
const ruleVariants = ALERT_RULE_KINDS.map((kind) =>
  z.object({ kind: z.literal(kind), params: ALERT_RULE_PARAMS[kind] as z.ZodType }),
) as unknown as [z.ZodObject, ...z.ZodObject[]];
export const AlertRuleDefinitionSchema = z.discriminatedUnion('kind', ruleVariants);

export const ALERT_SCOPE_KINDS = ['global', 'device_type', 'organization', 'site', 'device'] as const;
/** Most specific first: for each rule key, the first scope that matches a device decides. */
export const ALERT_SCOPE_PRECEDENCE = ['device', 'site', 'organization', 'device_type', 'global'] as const;
export const AlertScopeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('global') }).strict(),
  z.object({ kind: z.literal('device_type'), deviceType: z.enum(['scanner', 'server']) }).strict(),
  z.object({ kind: z.literal('organization'), id: z.uuid() }).strict(),
  z.object({ kind: z.literal('site'), id: z.uuid() }).strict(),
  z.object({ kind: z.literal('device'), id: z.uuid() }).strict(),
]);
export type AlertScope = z.infer<typeof AlertScopeSchema>;

/** A rule family: rules sharing a key override each other by scope (a device's own rule beats the global one). */
export const AlertRuleKeySchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes, starting with a letter (2–63 characters)');

export const AlertRuleSchema = z.object({
  id: z.uuid(),
  key: AlertRuleKeySchema,
  name: z.string(),
  kind: AlertRuleKindSchema,
  params: z.record(z.string(), z.unknown()),
  severity: AlertSeveritySchema,
  enabled: z.boolean(),
  scope: AlertScopeSchema,
  builtIn: z.boolean(),
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
});
export type AlertRule = z.infer<typeof AlertRuleSchema>;
export const AlertRuleListSchema = z.object({ items: z.array(AlertRuleSchema) });

const checkParams = (rule: { kind: AlertRuleKind; params: unknown }, ctx: z.RefinementCtx) => {
  if (FLEET_RULE_KINDS.includes(rule.kind) && 'scope' in rule) {
    const scope = (rule as { scope: AlertScope }).scope;
    if (scope.kind === 'device' || scope.kind === 'site')
      ctx.addIssue({ code: 'custom', path: ['scope'], message: 'a fleet rule applies to the fleet, an organization or a device type' });
  }
  const parsed = ALERT_RULE_PARAMS[rule.kind].safeParse(rule.params);
  if (!parsed.success)
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: 'custom', path: ['params', ...issue.path.map(String)], message: issue.message });
};

export const CreateAlertRuleSchema = z
  .object({
    key: AlertRuleKeySchema,
    name: NameSchema,
    kind: AlertRuleKindSchema,
    params: z.record(z.string(), z.unknown()),
    severity: AlertSeveritySchema,
    enabled: z.boolean().default(true),
    scope: AlertScopeSchema,
  })
  .strict()
  .superRefine(checkParams);
export type CreateAlertRule = z.infer<typeof CreateAlertRuleSchema>;

/** Kind, key and scope are a rule's identity; change them by creating another rule. */
export const UpdateAlertRuleSchema = z
  .object({
    name: NameSchema.optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    severity: AlertSeveritySchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });
export type UpdateAlertRule = z.infer<typeof UpdateAlertRuleSchema>;

/** Parses a rule's params for its kind (the API re-validates stored rows with it). */
export function parseRuleParams<K extends AlertRuleKind>(kind: K, params: unknown): z.infer<(typeof ALERT_RULE_PARAMS)[K]> {
  return ALERT_RULE_PARAMS[kind].parse(params) as z.infer<(typeof ALERT_RULE_PARAMS)[K]>;
}

export const ALERT_RESOLUTIONS = ['auto', 'manual'] as const;

export const AlertSchema = z.object({
  id: z.uuid(),
  ruleId: z.uuid().nullable(),
  ruleKey: z.string(),
  kind: AlertRuleKindSchema,
  severity: AlertSeveritySchema,
  state: AlertStateSchema,
  deviceId: z.uuid().nullable(),
  deviceName: z.string().nullable(),
  organizationId: z.uuid().nullable(),
  organizationName: z.string().nullable(),
  siteId: z.uuid().nullable(),
  siteName: z.string().nullable(),
  /** What the alert is about within the device (a mountpoint, unit, container); '' when the device itself. */
  subject: z.string(),
  title: z.string(),
  /** The value that opened it, the threshold, the event's details. */
  details: z.record(z.string(), z.unknown()),
  silenced: z.boolean(),
  openedAt: IsoDateTimeSchema,
  acknowledgedAt: IsoDateTimeSchema.nullable(),
  acknowledgedBy: z.string().nullable(),
  acknowledgeNote: z.string().nullable(),
  resolvedAt: IsoDateTimeSchema.nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.enum(ALERT_RESOLUTIONS).nullable(),
  resolveNote: z.string().nullable(),
});
export type Alert = z.infer<typeof AlertSchema>;
export const AlertPageSchema = pageOf(AlertSchema);

export const ListAlertsQuerySchema = PageQuerySchema.extend({
  state: z.enum([...ALERT_STATES, 'unresolved']).optional(),
  severity: AlertSeveritySchema.optional(),
  organizationId: z.uuid().optional(),
  siteId: z.uuid().optional(),
  deviceId: z.uuid().optional(),
  ruleKey: AlertRuleKeySchema.optional(),
}).strict();
export type ListAlertsQuery = z.infer<typeof ListAlertsQuerySchema>;

/** Open (unresolved) alerts by severity: the navigation badge and the overview. */
export const AlertCountsSchema = z.object({
  unresolved: z.number().int(),
  critical: z.number().int(),
  warning: z.number().int(),
  info: z.number().int(),
  unacknowledged: z.number().int(),
});
export type AlertCounts = z.infer<typeof AlertCountsSchema>;

export const AcknowledgeAlertSchema = z.object({ note: Note.optional() }).strict();
export const ResolveAlertSchema = z.object({ note: Note.min(1, 'say why it is resolved') }).strict();

export const SILENCE_SCOPE_KINDS = ['organization', 'site', 'device'] as const;
export const SilenceScopeSchema = z.object({ kind: z.enum(SILENCE_SCOPE_KINDS), id: z.uuid() }).strict();
/** A maintenance window: alerts in scope are still recorded, but not delivered. At most 90 days. */
export const CreateSilenceSchema = z
  .object({ scope: SilenceScopeSchema, startsAt: IsoDateTimeSchema, endsAt: IsoDateTimeSchema, reason: Note.min(1, 'say why') })
  .strict()
  .superRefine((s, ctx) => {
    const start = Date.parse(s.startsAt);
    const end = Date.parse(s.endsAt);
    if (end <= start) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
    else if (end - start > 90 * 86_400_000) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'a silence lasts at most 90 days' });
    if (end <= Date.now()) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be in the future' });
  });
export type CreateSilence = z.infer<typeof CreateSilenceSchema>;
export const SilenceSchema = z.object({
  id: z.uuid(),
  scope: SilenceScopeSchema,
  scopeName: z.string().nullable(),
  startsAt: IsoDateTimeSchema,
  endsAt: IsoDateTimeSchema,
  reason: z.string(),
  createdBy: z.string(),
  createdAt: IsoDateTimeSchema,
  active: z.boolean(),
});
export type Silence = z.infer<typeof SilenceSchema>;
export const SilencePageSchema = pageOf(SilenceSchema);
export const ListSilencesQuerySchema = PageQuerySchema.extend({
  state: z.enum(['active', 'upcoming', 'ended', 'current']).optional(),
}).strict();

// ---- Delivery targets -------------------------------------------------------------------

/** How a BetterStack incident reaches the on-call person, per severity. */
export const NotifyPolicySchema = z.object({ call: z.boolean(), sms: z.boolean(), email: z.boolean(), push: z.boolean() }).strict();
export const DeliveryRoutingSchema = z
  .object({
    severities: z.array(AlertSeveritySchema).min(1).max(3),
    /** Organizations whose alerts go to this target; null: all. */
    organizationIds: z.array(z.uuid()).max(500).nullable(),
    /** Fleet-level alerts (no organization). */
    includeFleet: z.boolean().default(true),
  })
  .strict();
export type DeliveryRouting = z.infer<typeof DeliveryRoutingSchema>;

const HttpsUrl = z
  .url({ protocol: /^https?$/, error: 'an http(s) URL' })
  .max(2000)
  .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
const Secret = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(4096)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const BetterStackConfigSchema = z
  .object({
    /** The Uptime API's base, e.g. https://uptime.betterstack.com */
    baseUrl: HttpsUrl,
    requesterEmail: z.email().max(320),
    policy: z.object({ critical: NotifyPolicySchema, warning: NotifyPolicySchema, info: NotifyPolicySchema }).strict(),
    /** Team to create the incident in (a global API token needs it). */
    teamName: z.string().max(200).optional(),
  })
  .strict();
export const WebhookConfigSchema = z.object({ url: HttpsUrl }).strict();

export const ALERT_TARGET_KINDS = ['betterstack', 'webhook'] as const;
const targetFields = {
  name: NameSchema,
  enabled: z.boolean().default(true),
  routing: DeliveryRoutingSchema,
  /** Loopback, link-local, private and overlay addresses are refused unless this is set. */
  allowPrivateAddress: z.boolean().default(false),
};
export const CreateAlertTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('betterstack'), ...targetFields, config: BetterStackConfigSchema, token: Secret }).strict(),
  z.object({ kind: z.literal('webhook'), ...targetFields, config: WebhookConfigSchema, secret: Secret }).strict(),
]);
export type CreateAlertTarget = z.infer<typeof CreateAlertTargetSchema>;
/** The secret is replaced only when given; it is never returned. */
export const UpdateAlertTargetSchema = z
  .object({
    name: NameSchema.optional(),
    enabled: z.boolean().optional(),
    routing: DeliveryRoutingSchema.optional(),
    allowPrivateAddress: z.boolean().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    secret: Secret.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });
export type UpdateAlertTarget = z.infer<typeof UpdateAlertTargetSchema>;
export const AlertTargetSchema = z.object({
  id: z.uuid(),
  kind: z.enum(ALERT_TARGET_KINDS),
  name: z.string(),
  enabled: z.boolean(),
  routing: DeliveryRoutingSchema,
  allowPrivateAddress: z.boolean(),
  config: z.record(z.string(), z.unknown()),
  /** The secret's last four characters, so an operator can tell which one is set. */
  secretHint: z.string(),
  createdAt: IsoDateTimeSchema,
  updatedAt: IsoDateTimeSchema,
});
export type AlertTarget = z.infer<typeof AlertTargetSchema>;
export const AlertTargetListSchema = z.object({ items: z.array(AlertTargetSchema) });
export const AlertTargetTestResultSchema = z.object({
  ok: z.boolean(),
  status: z.number().int().nullable(),
  message: z.string(),
  remoteId: z.string().nullable(),
  durationMs: z.number(),
});
export type AlertTargetTestResult = z.infer<typeof AlertTargetTestResultSchema>;

export const DELIVERY_KINDS = ['create', 'acknowledge', 'resolve'] as const;
export const DeliveryKindSchema = z.enum(DELIVERY_KINDS);
export type DeliveryKind = z.infer<typeof DeliveryKindSchema>;
/** pending → done, or dead after the last attempt (the dead-letter list; "retry" makes it pending again). */
export const DELIVERY_STATES = ['pending', 'done', 'dead'] as const;
export const DeliveryStateSchema = z.enum(DELIVERY_STATES);
export const AlertDeliverySchema = z.object({
  id: z.string(),
  alertId: z.uuid(),
  alertTitle: z.string(),
  targetId: z.uuid(),
  targetName: z.string(),
  kind: DeliveryKindSchema,
  sequence: z.number().int(),
  state: DeliveryStateSchema,
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  remoteId: z.string().nullable(),
  nextAttemptAt: IsoDateTimeSchema.nullable(),
  createdAt: IsoDateTimeSchema,
  doneAt: IsoDateTimeSchema.nullable(),
});
export type AlertDelivery = z.infer<typeof AlertDeliverySchema>;
export const AlertDeliveryPageSchema = pageOf(AlertDeliverySchema);
/** A delivery's id (a bigint, as a decimal string). */
export const AlertDeliveryIdParamSchema = z
  .object({ id: z.string().regex(/^[1-9][0-9]{0,17}$/, 'a delivery id (a positive integer)') })
  .strict();
export const ListAlertDeliveriesQuerySchema = PageQuerySchema.extend({
  state: DeliveryStateSchema.optional(),
  alertId: z.uuid().optional(),
  targetId: z.uuid().optional(),
}).strict();

/** Sent with every webhook delivery: HMAC-SHA256 over `${timestamp}.${body}` with the target's secret, hex. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-xspectre-signature';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-xspectre-timestamp';
export const WEBHOOK_DELIVERY_HEADER = 'x-xspectre-delivery';
/**
 * The body of every webhook delivery. `kind: 'test'` is the "send test" button's message (its
 * alert is made up, its deliveryId is not a row). Receivers drop repeats by deliveryId: a message
 * whose answer was lost is sent again with the same id.
 */
export const WebhookPayloadSchema = z.object({
  deliveryId: z.string(),
  kind: z.enum([...DELIVERY_KINDS, 'test']),
  sequence: z.number().int(),
  alert: AlertSchema,
  consoleUrl: z.string().nullable(),
});
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
