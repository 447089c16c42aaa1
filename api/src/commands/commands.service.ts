import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  COMMAND_TTL_MS,
  decideCommandTransition,
  isCriticalCommandAction,
  type Command,
  type CommandRequest,
  type CommandStatusReport,
  type SignedCommand,
} from '@xspectre/contracts';
import { signCommand } from '@xspectre/contracts/command-signature';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor, type AuthenticatedDevice } from '../common/context/request-context.js';
import { DevicesService } from '../devices/devices.service.js';
import { KeyStore } from '../keys/key-store.js';
import type { CommandEntity } from './command.entity.js';
import { CommandWakeups } from './command-wakeups.js';
import { toCommandDto, toSignedCommand } from './commands.mapper.js';
import { CommandsRepository, type CommandFilter, type CommandProgress } from './commands.repository.js';

export type CommandRoute = 'normal' | 'critical';

/**
 * The signed command queue: operators queue, the device's agent fetches (long poll), verifies,
 * runs and reports. The API signs with the key store's current command key; the agent decides.
 */
@Injectable()
export class CommandsService {
  constructor(
    private readonly commands: CommandsRepository,
    private readonly devices: DevicesService,
    private readonly keys: KeyStore,
    private readonly wakeups: CommandWakeups,
  ) {}

  /**
   * Queues one signed command. Critical actions only through the critical route (its permission
   * and step-up are checked by the guard), the others only through the normal one, so the RBAC
   * matrix sees every action's class.
   */
  async queue(actor: Actor, deviceId: string, request: CommandRequest, route: CommandRoute): Promise<Command> {
    const critical = isCriticalCommandAction(request.action);
    if (critical !== (route === 'critical'))
      throw new AppError(
        'COMMAND_WRONG_ROUTE',
        critical
          ? `${request.action} is critical: POST devices/${deviceId}/critical-commands`
          : `${request.action} is not critical: POST devices/${deviceId}/commands`,
      );
    // Locked: a concurrent quarantine or revoke either commits first (and is seen) or waits.
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    this.devices.assertMayChange(actor, device.organizationKind);
    if (device.status !== 'active') throw new AppError('DEVICE_NOT_ACTIVE', `device ${device.name} is ${device.status}`);
    if (device.quarantinedAt) throw new AppError('DEVICE_QUARANTINED');

    const key = await this.keys.currentSigningKey('command-signing');
    const issuedAt = new Date();
    const signed = signCommand(key.privateKey, {
      v: 1,
      keyId: key.keyId,
      commandId: randomUUID(),
      deviceId,
      action: request.action,
      params: request.params,
      nonce: randomBytes(16).toString('hex'),
      issuedAt: issuedAt.toISOString(),
      expiresAt: new Date(issuedAt.getTime() + COMMAND_TTL_MS).toISOString(),
    });
    const stored = await this.commands.insert({
      id: signed.commandId,
      deviceId,
      action: request.action,
      params: signed.params,
      critical,
      keyId: signed.keyId,
      nonce: signed.nonce,
      issuedAt,
      expiresAt: new Date(signed.expiresAt),
      signature: signed.signature,
      status: 'queued',
      requestedByUserId: actor.userId,
      requestedBy: actor.email,
    });
    requestContext.annotate({ resourceId: deviceId, details: { commandId: stored.id, action: stored.action, params: stored.params } });
    requestContext.afterCommit(() => this.wakeups.wake(deviceId));
    return toCommandDto(stored);
  }

  async get(id: string): Promise<Command> {
    const command = await this.commands.findById(id);
    if (!command) throw new AppError('COMMAND_NOT_FOUND', `no command with id ${id}`);
    return toCommandDto(command);
  }

  async list(filter: CommandFilter) {
    const { items, total } = await this.commands.list(filter);
    return { items: items.map(toCommandDto), total, limit: filter.limit, offset: filter.offset };
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
  async poll(device: AuthenticatedDevice, waitSeconds: number, signal?: AbortSignal): Promise<SignedCommand[]> {
    const waiter = this.wakeups.waiter(device.id, waitSeconds * 1000, signal);
    try {
      let commands = await this.commands.deliver(device.id);
      if (commands.length === 0 && waitSeconds > 0 && !signal?.aborted) {
        await waiter.wait;
        if (!signal?.aborted) commands = await this.commands.deliver(device.id);
      }
      return commands.map(toSignedCommand);
    } finally {
      waiter.cancel();
    }
  }

  /** What the heartbeat ack tells the agent: commands wait, even if its long poll is broken. */
  pendingCount(deviceId: string): Promise<number> {
    return this.commands.countOpen(deviceId);
  }

  /** Applies the agent's report on one of its own commands; audited with the device as the actor. */
  async report(device: AuthenticatedDevice, id: string, report: CommandStatusReport): Promise<Command> {
    requestContext.annotate({
      resourceId: id,
      subjectEmail: `device:${device.id}`,
      details: { status: report.status, reason: report.reason },
    });
    const command = await this.commands.findForDeviceLocked(id, device.id);
    if (!command) throw new AppError('COMMAND_NOT_FOUND', `device ${device.id} has no command ${id}`);
    const decision = decideCommandTransition(command.status, report.status);
    if (decision === 'refuse')
      throw new AppError('COMMAND_TRANSITION_INVALID', `command ${id} is ${command.status}; it cannot become ${report.status}`);
    if (decision === 'repeat') return toCommandDto(command);
    const now = new Date();
    const changes = resultOf(command, report, now);
    await this.commands.update(id, changes);
    return toCommandDto({ ...command, ...changes });
  }
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
