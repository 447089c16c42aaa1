import { Injectable, Logger } from '@nestjs/common';
import {
  type BulkCommandOutcome,
  type BulkCommandRequest,
  type BulkCommandResult,
  decideCommandTransition,
  isCriticalCommandAction,
  type JsonObject,
  type CommandAction,
  type Command,
  type CommandRequest,
  type CommandStatusReport,
  type SignedCommand,
  type AgentScriptResponse,
  SignedCommandSchema,
  type ScriptRunParams,
} from '@xspectre/contracts';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor, type AuthenticatedDevice } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { DevicesService } from '../devices/devices.service.js';
import { KeyStore } from '../keys/key-store.js';
import { ScriptsService } from '../scripts/scripts.service.js';
import { AgentBuildsService, type ServedBuild } from '../agent-builds/agent-builds.service.js';
import { LivePublisher } from '../live/live-publisher.js';
import type { CommandEntity } from './command.entity.js';
import { CommandWakeups } from './command-wakeups.js';
import { OpenCommandHints } from './open-command-hints.js';
import { KeyAnnouncements } from './key-announcements.service.js';
import { CommandHooks } from './command-hooks.js';
import { signedCommandRow } from './signed-row.js';
import { redactFor } from './result-bearing.js';
import { toCommandDto, toLiveCommand, toSignedCommand } from './commands.mapper.js';
import {
  CommandsRepository,
  isForAudience,
  type CommandAudience,
  type CommandFilter,
  type CommandProgress,
} from './commands.repository.js';

export type CommandRoute = 'normal' | 'critical';

/**
 * The signed command queue: operators queue, the device's agent fetches (long poll), verifies,
 * runs and reports. The API signs with the key store's current command key; the agent decides.
 */
@Injectable()
export class CommandsService {
  private readonly logger = new Logger(CommandsService.name);

  constructor(
    private readonly commands: CommandsRepository,
    private readonly devices: DevicesService,
    private readonly keys: KeyStore,
    private readonly wakeups: CommandWakeups,
    private readonly live: LivePublisher,
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly scripts: ScriptsService,
    private readonly announcements: KeyAnnouncements,
    private readonly builds: AgentBuildsService,
    private readonly hooks: CommandHooks,
  ) {
    wakeups.onWake((deviceId) => this.openCommands.woke(deviceId));
  }

  private readonly openCommands = new OpenCommandHints((ids) => this.commands.countOpen(ids));

  /**
   * Queues one signed command. Critical actions only through the critical route (its permission
   * and step-up are checked by the guard), the others only through the normal one, so the RBAC
   * matrix sees every action's class.
   */
  async queue(actor: Actor, deviceId: string, request: CommandRequest, route: CommandRoute): Promise<Command> {
    assertRoute(request.action, route, { single: deviceId });
    const stored = await this.insertSigned(actor, deviceId, request);
    requestContext.annotate({ resourceId: deviceId, details: { commandId: stored.id, action: stored.action, params: stored.params } });
    requestContext.afterCommit(() => this.announce(stored, { wake: true }));
    return toCommandDto(stored);
  }

  /**
   * One command per device, each in a transaction of its own with its audit row (the route opts
   * out of the request's single transaction and single audit row): a device that cannot take the
   * command (unknown, not active, quarantined, internal for a SOC operator) gets an error entry
   * and a failure audit row, and does not stop the others. Entries are in request order. An
   * unexpected error (the database gone) ends the request as a 500; the devices before it keep
   * their commands (listed by GET commands).
   */
  async queueBulk(actor: Actor, request: BulkCommandRequest, route: CommandRoute): Promise<BulkCommandResult> {
    assertRoute(request.action, route, { bulk: true });
    const { deviceIds, ...command } = request;
    const action = route === 'critical' ? 'command.queue_critical' : 'command.queue';
    const path = route === 'critical' ? 'critical-commands/bulk' : 'commands/bulk';
    const batch = { route: path, devices: deviceIds.length };
    const items: BulkCommandOutcome[] = [];
    for (const deviceId of deviceIds) {
      try {
        // A transaction of its own even if a caller had one open: one device's refusal must not
        // abort the others' (PostgreSQL aborts a whole transaction on a failed statement).
        const stored = await this.db.detached(async (manager) => {
          const inserted = await this.insertSigned(actor, deviceId, command as CommandRequest);
          await this.audit.append(manager, {
            action,
            resourceType: 'device',
            resourceId: deviceId,
            result: 'success',
            details: { method: 'POST', commandId: inserted.id, action: inserted.action, params: inserted.params, bulk: batch },
          });
          return inserted;
        });
        // Committed: the device's poll may be woken and consoles told.
        await this.announce(stored, { wake: true });
        items.push({ deviceId, command: toCommandDto(stored) });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        await this.audit.appendDetached({
          action,
          resourceType: 'device',
          resourceId: deviceId,
          result: 'failure',
          errorMessage: `${error.code}: ${error.detail}`,
          errorCode: error.code,
          details: {
            method: 'POST',
            status: error.status,
            errorCode: error.code,
            action: command.action,
            params: command.params,
            bulk: batch,
          },
        });
        items.push({ deviceId, error: { code: error.code, message: error.detail } });
      }
    }
    const queued = items.filter((i) => i.command).length;
    return { items, requested: items.length, queued, refused: items.length - queued };
  }

  /** Checks the device (locked) and stores the signed command, in the caller's transaction. */
  private async insertSigned(actor: Actor, deviceId: string, request: CommandRequest): Promise<CommandEntity> {
    // Locked: a concurrent quarantine or revoke either commits first (and is seen) or waits.
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    this.devices.assertMayChange(actor, device.organizationKind);
    if (device.status !== 'active') throw new AppError('DEVICE_NOT_ACTIVE', `device ${device.name} is ${device.status}`);
    if (device.quarantinedAt) throw new AppError('DEVICE_QUARANTINED');
    // Greenbone actions mean nothing to a server's agent: refused here rather than failed there.
    if (request.action.startsWith('scanner.') && device.type !== 'scanner')
      throw new AppError('DEVICE_NOT_SCANNER', `device ${device.name} is a ${device.type}; ${request.action} is for scanners`);
    // A script run signs the library's current hash, interpreter and timeout (scripts.service.ts).
    // An agent update signs the served build's id, SHA-256 and size (agent-builds.service.ts).
    const params =
      request.action === 'script.run'
        ? await this.scripts.resolveForCommand(request.params)
        : request.action === 'agent.update'
          ? await this.builds.resolveForCommand(request.params)
          : request.params;

    const key = await this.keys.currentSigningKey('command-signing');
    return this.commands.insert(signedCommandRow(key, device.id, request.action, params as JsonObject, actor));
  }

  /**
   * Queues an API-only action (API_ONLY_COMMAND_ACTIONS) for an operator whose route already
   * checked the permission and step-up it needs (a scanner report summary: scanners.controller.ts),
   * in the request's transaction and audit row.
   */
  async queueApiAction(actor: Actor, deviceId: string, action: CommandAction, params: JsonObject): Promise<Command> {
    const stored = await this.insertSigned(actor, deviceId, { action, params } as unknown as CommandRequest);
    requestContext.afterCommit(() => this.announce(stored, { wake: true }));
    return toCommandDto(stored);
  }

  /** After the change committed: consoles hear of the new status; a queued command also wakes its device's poll. */
  private async announce(command: CommandEntity, options: { wake?: boolean } = {}): Promise<void> {
    // Neither waits on the other, nor does the caller wait on Redis for long: both are best-effort.
    await Promise.all([options.wake ? this.wakeups.wake(command.deviceId) : undefined, this.live.commandChanged(toLiveCommand(command))]);
  }

  async get(id: string): Promise<Command> {
    const command = await this.commands.findById(id);
    if (!command) throw new AppError('COMMAND_NOT_FOUND', `no command with id ${id}`);
    return redactFor(requestContext.get()?.actor, toCommandDto(command));
  }

  /** The stored command with its output, for a feature that checked who may read it (report summaries). */
  async findWithOutput(id: string): Promise<Command | null> {
    const command = await this.commands.findById(id);
    return command ? toCommandDto(command) : null;
  }

  /**
   * Queues a command the API itself decided on (a backup run due at this poll), signed with the
   * current key, with its audit row naming `by`; `alsoInTransaction` runs in the same transaction
   * and may throw to undo it (someone else queued it first). Null when the device cannot take a
   * command now (not active, quarantined).
   */
  async queueSystemCommand(
    deviceId: string,
    request: { action: CommandAction; params: JsonObject; by: string; reason: string },
    alsoInTransaction: (command: Command) => Promise<void>,
  ): Promise<Command | null> {
    const row = await this.db.transaction(async (manager) => {
      const device = await this.devices.findDevice(deviceId, { lock: true });
      if (!device || device.status !== 'active' || device.quarantinedAt) return null;
      const key = await this.keys.currentSigningKey('command-signing');
      const inserted = await this.commands.insert(
        signedCommandRow(key, deviceId, request.action, request.params, { userId: null, email: request.by }),
      );
      await alsoInTransaction(toCommandDto(inserted));
      await this.audit.append(manager, {
        action: inserted.critical ? 'command.queue_critical' : 'command.queue',
        resourceType: 'device',
        resourceId: deviceId,
        result: 'success',
        userId: null,
        userEmail: request.by,
        details: { commandId: inserted.id, action: request.action, reason: request.reason },
      });
      return inserted;
    });
    if (!row) return null;
    await this.announce(row);
    return toCommandDto(row);
  }

  /** Wakes the device's long poll (after the caller's commit), so its next poll comes at once. */
  async wake(deviceId: string): Promise<void> {
    await this.wakeups.wake(deviceId);
  }

  async list(filter: CommandFilter) {
    const { items, total } = await this.commands.list(filter);
    const actor = requestContext.get()?.actor;
    return { items: items.map((c) => redactFor(actor, toCommandDto(c))), total, limit: filter.limit, offset: filter.offset };
  }

  async listForDevice(deviceId: string, filter: Omit<CommandFilter, 'deviceId'>) {
    await this.devices.requireDevice(deviceId);
    return this.list({ ...filter, deviceId });
  }

  /**
   * The agent's long poll: answers at once when commands wait, else holds up to `waitSeconds`
   * for a wake-up. The waiter is registered before the first read, so a command queued between
   * the read and the wait still wakes it.
   */
  async poll(
    device: AuthenticatedDevice,
    waitSeconds: number,
    signal?: AbortSignal,
    audience: CommandAudience = 'agent',
  ): Promise<SignedCommand[]> {
    if (audience === 'agent') {
      // While a command key is announced, a device that missed its pin gets one now (key-announcements.service.ts).
      await this.announcements.beforePoll(device.id);
      // Features that queue due work at the poll (backups: command-hooks.ts).
      await this.hooks.beforePoll(device.id);
    } else await this.hooks.beforePoll(device.id, 'recovery');
    const waiter = this.wakeups.waiter(device.id, waitSeconds * 1000, signal);
    try {
      let delivery = await this.commands.deliver(device.id, audience);
      if (delivery.commands.length === 0 && waitSeconds > 0 && !signal?.aborted) {
        await waiter.wait;
        if (!signal?.aborted) delivery = await this.commands.deliver(device.id, audience);
      }
      // The delivery statement has committed (a GET runs outside any transaction).
      for (const command of delivery.commands) if (delivery.newlyDelivered.has(command.id)) void this.announce(command);
      return await this.deliverable(delivery.commands);
    } finally {
      waiter.cancel();
    }
  }

  /**
   * The envelopes as stored, except those that are not valid signed commands (a row edited in
   * the database): those are refused here, so one such row neither breaks the device's poll
   * (the answer is checked against its schema) nor waits for an agent that could not read it.
   * Whatever passes is still verified by the agent (signature, key, device, time).
   */
  private async deliverable(commands: CommandEntity[]): Promise<SignedCommand[]> {
    const signed: SignedCommand[] = [];
    for (const command of commands) {
      const envelope = SignedCommandSchema.safeParse(toSignedCommand(command));
      if (envelope.success) {
        signed.push(envelope.data);
        continue;
      }
      const problem = envelope.error.issues.map((i) => `${i.path.join('.') || '(envelope)'}: ${i.message}`).join('; ');
      const refused = await this.commands.refuseStored(
        command.id,
        `not delivered: the stored command is not a valid signed envelope (${problem})`.slice(0, 500),
      );
      this.logger.warn({
        msg: 'stored command refused: not a valid signed envelope',
        commandId: command.id,
        deviceId: command.deviceId,
        problem,
      });
      if (refused) await this.announce(refused);
    }
    return signed;
  }

  /**
   * The script a device's own `script.run` fetches while it is delivered or running: the content
   * version its signed params name. Anything else is COMMAND_NOT_FOUND, telling nothing.
   */
  async scriptFor(device: AuthenticatedDevice, id: string): Promise<AgentScriptResponse> {
    const command = await this.commands.findById(id);
    if (!command || command.deviceId !== device.id || command.action !== 'script.run' || !['delivered', 'running'].includes(command.status))
      throw new AppError('COMMAND_NOT_FOUND', `device ${device.id} has no script run ${id} in progress`);
    const params = command.params as Pick<ScriptRunParams, 'scriptId' | 'sha256'>;
    return this.scripts.contentForRun(params.scriptId, params.sha256, command.id);
  }

  /** The executable a device's own `agent.update` downloads while it is delivered or running: the bytes its params signed. */
  async agentBuildFor(device: AuthenticatedDevice, id: string): Promise<ServedBuild> {
    const command = await this.commands.findById(id);
    if (
      !command ||
      command.deviceId !== device.id ||
      command.action !== 'agent.update' ||
      !['delivered', 'running'].includes(command.status)
    )
      throw new AppError('COMMAND_NOT_FOUND', `device ${device.id} has no agent update ${id} in progress`);
    return this.builds.fileFor(String(command.params.sha256));
  }

  /** A command of this device for this audience that is running now, or null (recovery progress reports: api/src/recovery). */
  async findRunning(deviceId: string, id: string, audience: CommandAudience): Promise<Command | null> {
    const command = await this.commands.findById(id);
    if (!command || command.deviceId !== deviceId || !isForAudience(command.action, audience) || command.status !== 'running') return null;
    return toCommandDto(command);
  }

  /** Whether this device has a command with this id for this audience (in any status). */
  async existsFor(deviceId: string, id: string, audience: CommandAudience): Promise<boolean> {
    const command = await this.commands.findById(id);
    return !!command && command.deviceId === deviceId && isForAudience(command.action, audience);
  }

  /**
   * What the heartbeat ack tells the agent: commands wait, even if its long poll is broken
   * (a hint: open-command-hints.ts says when it is remembered).
   */
  pendingCount(deviceId: string): Promise<number> {
    return this.openCommands.pendingCount(deviceId);
  }

  /** Applies the agent's report on one of its own commands; audited with the device as the actor. */
  async report(
    device: AuthenticatedDevice,
    id: string,
    report: CommandStatusReport,
    audience: CommandAudience = 'agent',
  ): Promise<Command> {
    requestContext.annotate({
      resourceId: id,
      subjectEmail: audience === 'recovery' ? `recovery:${device.id}` : `device:${device.id}`,
      details: { status: report.status, reason: report.reason },
    });
    const command = await this.commands.findForDeviceLocked(id, device.id);
    // The agent reports only its own commands, the recovery stick only `recovery.*` ones (commands.repository.ts).
    if (!command || !isForAudience(command.action, audience))
      throw new AppError('COMMAND_NOT_FOUND', `device ${device.id} has no command ${id}`);
    const decision = decideCommandTransition(command.status, report.status);
    if (decision === 'refuse')
      throw new AppError('COMMAND_TRANSITION_INVALID', `command ${id} is ${command.status}; it cannot become ${report.status}`);
    if (decision === 'repeat') return toCommandDto(command);
    const now = new Date();
    const changes = resultOf(command, report, now);
    await this.commands.update(id, changes);
    const updated = Object.assign(command, changes);
    await this.hooks.reported(toCommandDto(updated));
    requestContext.afterCommit(() => this.announce(updated));
    return toCommandDto(updated);
  }
}

/** Which route an action belongs on; the message names the other one. */
function assertRoute(action: CommandRequest['action'], route: CommandRoute, on: { single: string } | { bulk: true }): void {
  const critical = isCriticalCommandAction(action);
  if (critical === (route === 'critical')) return;
  const [criticalPath, normalPath] =
    'single' in on
      ? [`devices/${on.single}/critical-commands`, `devices/${on.single}/commands`]
      : ['critical-commands/bulk', 'commands/bulk'];
  throw new AppError(
    'COMMAND_WRONG_ROUTE',
    critical ? `${action} is critical: POST ${criticalPath}` : `${action} is not critical: POST ${normalPath}`,
  );
}

function resultOf(command: CommandEntity, report: CommandStatusReport, now: Date): CommandProgress {
  const final = report.status !== 'running';
  return {
    status: report.status,
    deliveredAt: command.deliveredAt ?? now,
    startedAt: report.status === 'running' ? now : command.startedAt,
    finishedAt: final ? now : null,
    ...(final
      ? {
          exitCode: report.exitCode ?? null,
          stdout: report.stdout ?? null,
          stderr: report.stderr ?? null,
          stdoutTruncated: report.stdoutTruncated ?? false,
          stderrTruncated: report.stderrTruncated ?? false,
          reason: report.reason ?? null,
        }
      : {}),
  };
}
