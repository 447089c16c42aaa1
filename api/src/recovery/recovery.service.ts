import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RecoveryHardware, RecoveryProgress, RecoveryRegister, RecoveryRegisterResponse } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type AuthenticatedRecovery } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { LivePublisher } from '../live/live-publisher.js';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import { CommandsService } from '../commands/commands.service.js';
import { AccessChanges } from '../redis/access-changes.js';
import { SshCertificateAuthority, sshKeyFingerprint } from '../ssh/ssh-certificate-authority.js';
import { RecoveryMediaRepository } from './recovery-media.repository.js';

/** A device in RECOVERY MODE: its registered stick, as `currentMode` tells other features. */
export interface RecoveryMode {
  mediumId: string;
  deviceId: string;
  bootId: string;
  registeredAt: Date;
  hardware: RecoveryHardware;
  agentVersion: string | null;
  /** The stick's overlay address (recovery pool, without prefix). */
  overlayAddress: string;
  /** The host key of the sshd this boot runs (pinned for recovery shells); null: no shell on this stick. */
  sshHostKey: string | null;
  /** The latest progress the stick posted for a running recovery command, or null. */
  progress: RecoveryProgress | null;
  progressAt: Date | null;
}

/** Told once per new registration (a new boot), after it committed. Must not throw (it is logged). */
export type RecoveryRegisteredListener = (deviceId: string, hardware: RecoveryHardware, mode: RecoveryMode) => Promise<void>;

/** Progress is stored and pushed at most this often per stick (the last report of a command always). */
const PROGRESS_WRITE_MS = 1_000;

/**
 * The recovery stick as an agent (issue 16, items 2-3): registration in RECOVERY MODE, progress of
 * its `recovery.*` commands, the end of recovery mode when the device's own agent is heard again.
 * Other features read the mode (`currentMode`) and hear of registrations (`onRegistered`).
 */
@Injectable()
export class RecoveryService {
  private readonly logger = new Logger(RecoveryService.name);
  private readonly listeners: RecoveryRegisteredListener[] = [];
  private readonly progressWritten = new Map<string, { at: number; commandId: string }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly media: RecoveryMediaRepository,
    private readonly events: DeviceEventsService,
    private readonly commands: CommandsService,
    private readonly live: LivePublisher,
    private readonly db: Database,
    private readonly ca: SshCertificateAuthority,
    private readonly accessChanges: AccessChanges,
  ) {}

  /** `listener` runs after each new registration (not a repeated one of the same boot). */
  onRegistered(listener: RecoveryRegisteredListener): void {
    this.listeners.push(listener);
  }

  /** The device's registered stick, or null when it is not in recovery mode. */
  async currentMode(deviceId: string): Promise<RecoveryMode | null> {
    const m = await this.media.findRegisteredForDevice(deviceId);
    if (!m || !m.registeredAt || !m.bootId || !m.hardware) return null;
    return {
      mediumId: m.id,
      deviceId: m.deviceId,
      bootId: m.bootId,
      registeredAt: m.registeredAt,
      hardware: m.hardware,
      agentVersion: m.agentInfo?.agentVersion ?? null,
      overlayAddress: m.overlayAddress.replace(/\/\d+$/, ''),
      sshHostKey: m.sshHostKey,
      progress: m.progress,
      progressAt: m.progressAt,
    };
  }

  /**
   * `POST agent/recovery/register`: idempotent for the same boot id. A new boot's `sshHostKey` is
   * pinned for that boot (the request is authenticated by the stick's credential over its tunnel);
   * a repeated registration of the same boot keeps what the first one pinned. When the stick sent a
   * host key, the answer carries what its sshd must trust (`ssh`: the user CA, the stick's principal).
   */
  async register(who: AuthenticatedRecovery, body: RecoveryRegister): Promise<RecoveryRegisterResponse> {
    const medium = await this.media.lockForDevice(who.mediumId, who.deviceId);
    if (!medium || medium.state !== 'active') throw new AppError('RECOVERY_AUTH_INVALID');
    const now = new Date();
    requestContext.annotate({
      resourceId: who.deviceId,
      subjectEmail: `recovery:${who.mediumId}`,
      details: {
        mediumId: who.mediumId,
        bootId: body.bootId,
        agentVersion: body.agentVersion,
        disks: body.hardware.disks.length,
        shell: body.sshHostKey ? sshKeyFingerprint(body.sshHostKey) : 'unavailable',
      },
    });
    const repeated = medium.registeredAt !== null && medium.bootId === body.bootId;
    if (!repeated) {
      await this.media.setRegistered(medium.id, {
        bootId: body.bootId,
        at: now,
        hardware: body.hardware,
        agentInfo: { agentVersion: body.agentVersion, recipeHash: body.recipeHash, kernel: body.kernel },
        sshHostKey: body.sshHostKey ? hostKeyOnly(body.sshHostKey) : null,
      });
      await this.events.record({
        deviceId: who.deviceId,
        type: 'device.recovery-mode',
        severity: 'warning',
        at: now,
        details: {
          mediumId: medium.id,
          bootId: body.bootId,
          agentVersion: body.agentVersion,
          firmware: body.hardware.firmware,
          disks: body.hardware.disks.filter((d) => d.role === 'target').map((d) => `${d.name} ${d.sizeBytes}`),
        },
      });
      const mode: RecoveryMode = {
        mediumId: medium.id,
        deviceId: who.deviceId,
        bootId: body.bootId,
        registeredAt: now,
        hardware: body.hardware,
        agentVersion: body.agentVersion,
        overlayAddress: medium.overlayAddress.replace(/\/\d+$/, ''),
        sshHostKey: body.sshHostKey ? hostKeyOnly(body.sshHostKey) : null,
        progress: null,
        progressAt: null,
      };
      requestContext.afterCommit(() => this.notifyRegistered(mode));
      // A recovery shell of an earlier boot of this stick is gone with that boot (OpenRemoteSessions re-checks it).
      requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'device', id: who.deviceId }).catch(() => undefined));
    }
    return {
      deviceId: who.deviceId,
      mediumId: medium.id,
      serverTime: now.toISOString(),
      backupUrl: this.config.API_BACKUP_SERVER_URL,
      ...(body.sshHostKey ? { ssh: await this.ca.recoverySetupFor(medium.id) } : {}),
    };
  }

  /**
   * `POST agent/recovery/progress`: only for a `recovery.*` command of this device that is running
   * (COMMAND_NOT_FOUND for another device's or an unknown one, RECOVERY_COMMAND_NOT_RUNNING
   * otherwise); stored on the medium row and pushed live at most once a second per stick.
   */
  async progress(who: AuthenticatedRecovery, body: RecoveryProgress): Promise<void> {
    const running = await this.commands.findRunning(who.deviceId, body.commandId, 'recovery');
    if (!running) {
      if (await this.commands.existsFor(who.deviceId, body.commandId, 'recovery'))
        throw new AppError('RECOVERY_COMMAND_NOT_RUNNING', `command ${body.commandId} is not running`);
      throw new AppError('COMMAND_NOT_FOUND', `device ${who.deviceId} has no recovery command ${body.commandId}`);
    }
    const now = Date.now();
    const last = this.progressWritten.get(who.mediumId);
    const final = body.bytesDone === body.bytesTotal;
    if (last && last.commandId === body.commandId && now - last.at < PROGRESS_WRITE_MS && !final) return;
    this.progressWritten.set(who.mediumId, { at: now, commandId: body.commandId });
    if (this.progressWritten.size > 10_000) this.progressWritten.delete(this.progressWritten.keys().next().value!);
    const at = new Date(now);
    await this.media.setProgress(who.mediumId, body, at);
    requestContext.afterCommit(() => this.live.recoveryProgress(who.deviceId, who.mediumId, body, at));
  }

  /**
   * The devices' own agents were heard (a committed heartbeat group, received at `heardAt`): any
   * of them in recovery mode since before then has left it. Ingest calls this off the write path;
   * one indexed statement per group commit (only registered media are indexed). Never throws.
   */
  async agentsHeard(deviceIds: string[], heardAt: Date): Promise<void> {
    if (deviceIds.length === 0) return;
    try {
      const recorded = await this.db.transaction(async () => {
        const ended = await this.media.clearRecoveryMode(deviceIds, heardAt);
        const appended: RecordedDeviceEvent[] = [];
        for (const m of ended) {
          appended.push(
            await this.events.append({
              deviceId: m.deviceId,
              type: 'device.recovery-mode-ended',
              severity: 'info',
              at: heardAt,
              details: { mediumId: m.id, bootId: m.bootId, reason: "the device's agent is back" },
            }),
          );
        }
        return appended;
      });
      if (recorded.length > 0) await this.events.announceCommitted(recorded);
      // Recovery shells of these devices end now (OpenRemoteSessions re-checks them on this message).
      for (const deviceId of new Set(recorded.map((e) => e.deviceId)))
        await this.accessChanges.announce({ kind: 'device', id: deviceId }).catch(() => undefined);
    } catch (error) {
      this.logger.warn({ msg: 'ending recovery mode failed', err: (error as Error).message });
    }
  }

  private async notifyRegistered(mode: RecoveryMode): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(mode.deviceId, mode.hardware, mode);
      } catch (error) {
        this.logger.error({ msg: 'recovery registration listener failed', deviceId: mode.deviceId, err: (error as Error).message });
      }
    }
  }
}

/** `ssh-ed25519 AAAA…` without the comment the stick may have put after it. */
function hostKeyOnly(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}
