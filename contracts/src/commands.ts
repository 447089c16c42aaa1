import { z } from 'zod';
import { SignedCommandSchema } from './command-envelope.js';
import { IsoDateTimeSchema, PageQuerySchema, pageOf } from './common.js';
import { AgentUpdateParamsSchema, AgentUpdateRequestParamsSchema } from './agent-update.js';
import { ScriptRunParamsSchema, ScriptRunRequestParamsSchema } from './scripts.js';
import { CredentialRotateParamsSchema, KeysPinParamsSchema, SettingsApplyParamsSchema } from './managed-settings.js';
import { BackupRestoreParamsSchema, BackupRunParamsSchema } from './backups.js';
import {
  ScannerFeedUpdateParamsSchema,
  ScannerProvisionMonitorParamsSchema,
  ScannerRefreshParamsSchema,
  ScannerReportSummaryParamsSchema,
  ScannerRestartParamsSchema,
} from './scanner-actions.js';
import {
  RecoveryBootParamsSchema,
  RecoveryFsckParamsSchema,
  RecoveryImageParamsSchema,
  RecoveryRebootParamsSchema,
  RecoveryRestoreParamsSchema,
  RecoverySmartParamsSchema,
} from './recovery.js';

/**
 * Remote actions: what an operator may ask a device to do. Each action's parameters are a
 * strict schema; they are signed as they are (command-envelope.ts), so the agent sees exactly
 * what the operator asked for (a script run gets the script's hash, interpreter and timeout
 * added by the API: COMMAND_REQUEST_PARAMS below; an agent update gets its build's id, hash and
 * size: agent-update.ts). Settings pushes, credential rotation and key pins: managed-settings.ts.
 */

/** A systemd unit name (systemd.unit(5)): no paths, no leading dash (an option), no spaces; `\x2d`-style escapes allowed. */
export const SystemdUnitNameSchema = z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9_@:][A-Za-z0-9:_.@\\-]*\.(service|socket|timer|target|mount|path)$/, 'a systemd unit name such as nginx.service');

/** A Docker container name or id. */
export const ContainerRefSchema = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a container name or id');

const NoParams = z.object({}).strict();
const UnitParams = z.object({ unit: SystemdUnitNameSchema }).strict();
const ContainerParams = z.object({ container: ContainerRefSchema }).strict();

export const COMMAND_ACTION_PARAMS = {
  reboot: NoParams,
  'service.restart': UnitParams,
  'service.start': UnitParams,
  'service.stop': UnitParams,
  'container.restart': ContainerParams,
  'container.start': ContainerParams,
  'container.stop': ContainerParams,
  'diagnostics.collect': NoParams,
  'script.run': ScriptRunParamsSchema,
  'settings.apply': SettingsApplyParamsSchema,
  'credential.rotate': CredentialRotateParamsSchema,
  // Queued only by the API's key rotation (never by an operator: API_ONLY_COMMAND_ACTIONS).
  'keys.pin': KeysPinParamsSchema,
  'agent.update': AgentUpdateParamsSchema,
  // Queued only by the API when a scheduled backup run is due (api/src/backups).
  'backup.run': BackupRunParamsSchema,
  // Queued only by the API for a restore an operator asked for (backups.restore with step-up).
  'backup.restore': BackupRestoreParamsSchema,
  // Greenbone on scanners (scanner-actions.ts).
  'scanner.refresh': ScannerRefreshParamsSchema,
  'scanner.restart': ScannerRestartParamsSchema,
  'scanner.feed-update': ScannerFeedUpdateParamsSchema,
  'scanner.provision-monitor': ScannerProvisionMonitorParamsSchema,
  // Queued only by the API for a holder of scanner_results.view with step-up.
  'scanner.report-summary': ScannerReportSummaryParamsSchema,
  // The normal agent arms a one-time boot to the recovery stick and reboots (recovery.ts).
  'reboot-to-recovery': RecoveryBootParamsSchema,
  // Only the recovery agent on the stick receives these (RECOVERY_COMMAND_PREFIX, recovery.ts);
  // image and restore are queued by the API from its own routes (API_ONLY_COMMAND_ACTIONS).
  'recovery.image': RecoveryImageParamsSchema,
  'recovery.restore': RecoveryRestoreParamsSchema,
  'recovery.smart': RecoverySmartParamsSchema,
  'recovery.fsck': RecoveryFsckParamsSchema,
  'recovery.reboot': RecoveryRebootParamsSchema,
} as const;

export type CommandAction = keyof typeof COMMAND_ACTION_PARAMS;
export const COMMAND_ACTIONS = Object.keys(COMMAND_ACTION_PARAMS) as CommandAction[];
export const KnownCommandActionSchema = z.enum(COMMAND_ACTIONS as [CommandAction, ...CommandAction[]]);

/** Actions that need `devices.critical_actions` and a fresh TOTP step-up (their own route). */
export const CRITICAL_COMMAND_ACTIONS: readonly CommandAction[] = [
  'reboot',
  'script.run',
  'agent.update',
  // A new device credential; a new trusted key (queued by the API's key rotation, itself critical).
  'credential.rotate',
  'keys.pin',
  // Writes a snapshot's files over the device's (or into a directory): asked for with step-up.
  'backup.restore',
  // Creates a gvmd account on the device (Super Admin).
  'scanner.provision-monitor',
  // Reboots; a restore overwrites whole disks; a repair writes a file system.
  'reboot-to-recovery',
  'recovery.restore',
  'recovery.fsck',
  'recovery.reboot',
];
export const isCriticalCommandAction = (action: CommandAction): boolean => CRITICAL_COMMAND_ACTIONS.includes(action);

/** Actions only the API queues (a key announcement); CommandRequestSchema and the bulk schema refuse them. */
export const API_ONLY_COMMAND_ACTIONS: readonly CommandAction[] = [
  'keys.pin',
  'backup.run',
  'backup.restore',
  'scanner.report-summary',
  'recovery.image',
  'recovery.restore',
];
export type OperatorCommandAction = Exclude<
  CommandAction,
  'keys.pin' | 'backup.run' | 'backup.restore' | 'scanner.report-summary' | 'recovery.image' | 'recovery.restore'
>;
export const OPERATOR_COMMAND_ACTIONS = COMMAND_ACTIONS.filter((a) => !API_ONLY_COMMAND_ACTIONS.includes(a)) as OperatorCommandAction[];

/**
 * What an operator sends per action: the signed params, except where the API fills some in at
 * queue time (a script run names the script; its hash, interpreter and timeout come from the
 * library, so they are in the signed payload).
 */
export const COMMAND_REQUEST_PARAMS = {
  ...COMMAND_ACTION_PARAMS,
  'script.run': ScriptRunRequestParamsSchema,
  'agent.update': AgentUpdateRequestParamsSchema,
} as const satisfies Record<CommandAction, z.ZodType>;

/** What an operator sends: one action and its parameters. */
export const CommandRequestSchema = z.discriminatedUnion(
  'action',
  OPERATOR_COMMAND_ACTIONS.map((action) =>
    z.object({ action: z.literal(action), params: COMMAND_REQUEST_PARAMS[action] }).strict(),
  ) as unknown as [z.ZodObject<{ action: z.ZodLiteral<CommandAction>; params: z.ZodType }>],
);
export type CommandRequest = {
  [A in OperatorCommandAction]: { action: A; params: z.infer<(typeof COMMAND_REQUEST_PARAMS)[A]> };
}[OperatorCommandAction];

/** Most devices one bulk request may name. */
export const BULK_COMMAND_MAX_DEVICES = 500;

/** Distinct device ids, 1..BULK_COMMAND_MAX_DEVICES; a repeated id is refused (naming both places), not merged. */
export const BulkDeviceIdsSchema = z
  .array(z.uuid())
  .min(1, 'name at least one device')
  .max(BULK_COMMAND_MAX_DEVICES, `at most ${BULK_COMMAND_MAX_DEVICES} devices per request`)
  .superRefine((ids, ctx) => {
    const first = new Map<string, number>();
    ids.forEach((id, index) => {
      const seen = first.get(id.toLowerCase());
      if (seen === undefined) first.set(id.toLowerCase(), index);
      else ctx.addIssue({ code: 'custom', path: [index], message: `repeats deviceIds[${seen}] (${id}): name each device once` });
    });
  });

/**
 * `POST commands/bulk` and `POST critical-commands/bulk`: one action and its parameters for many
 * devices, one command per device. Each branch is CommandRequestSchema's (strict, same params)
 * with `deviceIds` added, so the single and the bulk routes never disagree on an action.
 */
export const BulkCommandRequestSchema = z.discriminatedUnion(
  'action',
  CommandRequestSchema.options.map((branch) => branch.extend({ deviceIds: BulkDeviceIdsSchema })) as unknown as [
    z.ZodObject<{ deviceIds: typeof BulkDeviceIdsSchema; action: z.ZodLiteral<CommandAction>; params: z.ZodType }>,
  ],
);
export type BulkCommandRequest = CommandRequest & { deviceIds: string[] };

export const COMMAND_STATUSES = ['queued', 'delivered', 'running', 'succeeded', 'failed', 'rejected', 'expired', 'interrupted'] as const;
export const CommandStatusSchema = z.enum(COMMAND_STATUSES);
export type CommandStatus = z.infer<typeof CommandStatusSchema>;
/** Statuses a command never leaves. */
export const FINAL_COMMAND_STATUSES: readonly CommandStatus[] = ['succeeded', 'failed', 'rejected', 'expired', 'interrupted'];

/** Each of stdout and stderr is kept up to this many bytes (UTF-8); the rest is cut and flagged. */
export const COMMAND_OUTPUT_MAX_BYTES = 64 * 1024;

export const CommandSchema = z.object({
  id: z.uuid(),
  deviceId: z.uuid(),
  // A string, not the known actions: the API queues only known ones, but a row edited in the
  // database must still be shown as it is (and its rejection recorded), never fail the answer.
  action: z.string().describe('the action as stored (the API queues only the known actions)'),
  params: z.record(z.string(), z.unknown()),
  critical: z.boolean(),
  status: CommandStatusSchema,
  requestedBy: z.string().describe("the operator's e-mail"),
  keyId: z.string(),
  issuedAt: IsoDateTimeSchema,
  expiresAt: IsoDateTimeSchema,
  deliveredAt: IsoDateTimeSchema.nullable(),
  startedAt: IsoDateTimeSchema.nullable(),
  finishedAt: IsoDateTimeSchema.nullable(),
  exitCode: z.number().int().nullable(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  reason: z.string().nullable().describe('why the agent rejected it, or what interrupted it'),
});
export type Command = z.infer<typeof CommandSchema>;
export const CommandPageSchema = pageOf(CommandSchema);

/** Why one device of a bulk request got no command: the error code and message its single route would answer. */
export const BulkCommandErrorSchema = z.object({ code: z.string(), message: z.string() });

/** One device of a bulk request, in request order: its command, or why it got none. */
export const BulkCommandOutcomeSchema = z.object({
  deviceId: z.uuid(),
  command: CommandSchema.optional().describe('the queued command (absent when refused)'),
  error: BulkCommandErrorSchema.optional().describe(
    'why this device got no command: DEVICE_NOT_FOUND, DEVICE_NOT_ACTIVE, DEVICE_QUARANTINED, AUTH_INTERNAL_READ_ONLY',
  ),
});
export type BulkCommandOutcome = z.infer<typeof BulkCommandOutcomeSchema>;

export const BulkCommandResultSchema = z.object({
  items: z.array(BulkCommandOutcomeSchema).describe('one entry per requested device, in request order'),
  requested: z.number().int().min(0),
  queued: z.number().int().min(0),
  refused: z.number().int().min(0),
});
export type BulkCommandResult = z.infer<typeof BulkCommandResultSchema>;

export const ListCommandsQuerySchema = PageQuerySchema.extend({
  status: CommandStatusSchema.optional(),
  action: KnownCommandActionSchema.optional(),
  deviceId: z.uuid().optional(),
}).strict();
export const ListDeviceCommandsQuerySchema = PageQuerySchema.extend({
  status: CommandStatusSchema.optional(),
  action: KnownCommandActionSchema.optional(),
}).strict();

/** `GET agent/commands`: how long the API may hold the poll when nothing waits. */
export const AgentCommandsQuerySchema = z.object({ waitSeconds: z.coerce.number().int().min(0).max(30).default(25) }).strict();

/** What the agent reports about one command. Output is cut by the agent to COMMAND_OUTPUT_MAX_BYTES each. */
export const CommandStatusReportSchema = z
  .object({
    status: z.enum(['running', 'succeeded', 'failed', 'rejected', 'interrupted']),
    exitCode: z.number().int().min(-2_147_483_648).max(2_147_483_647).optional(),
    stdout: z.string().optional(),
    stderr: z.string().optional(),
    stdoutTruncated: z.boolean().optional(),
    stderrTruncated: z.boolean().optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .refine((r) => utf8Length(r.stdout) <= COMMAND_OUTPUT_MAX_BYTES && utf8Length(r.stderr) <= COMMAND_OUTPUT_MAX_BYTES, {
    message: `stdout and stderr are each at most ${COMMAND_OUTPUT_MAX_BYTES} bytes (UTF-8)`,
  })
  .refine((r) => r.status !== 'rejected' || (r.reason !== undefined && r.reason.length > 0), {
    message: 'a rejection names its reason',
    path: ['reason'],
  });
export type CommandStatusReport = z.infer<typeof CommandStatusReportSchema>;

function utf8Length(text: string | undefined): number {
  return text === undefined ? 0 : new TextEncoder().encode(text).length;
}

/** The long poll's answer: signed commands to verify, and the server's clock for the expiry check. */
export const AgentCommandsResponseSchema = z.object({
  commands: z.array(SignedCommandSchema),
  serverTime: IsoDateTimeSchema,
});
export type AgentCommandsResponse = z.infer<typeof AgentCommandsResponseSchema>;
