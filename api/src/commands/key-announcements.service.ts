import { Injectable, Logger } from '@nestjs/common';
import type { CommandStatus, KeysPinParams, RotateCommandKeyResponse } from '@xspectre/contracts';
import { AuditService } from '../audit/audit.service.js';
import { AppError } from '../common/errors/app-error.js';
import { requestContext, type Actor } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { DevicesService } from '../devices/devices.service.js';
import { KeyAnnouncedError, KeyStore } from '../keys/key-store.js';
import { LivePublisher } from '../live/live-publisher.js';
import type { CommandEntity } from './command.entity.js';
import { CommandWakeups } from './command-wakeups.js';
import { toLiveCommand } from './commands.mapper.js';
import { CommandsRepository } from './commands.repository.js';
import { signedCommandRow } from './signed-row.js';

const PURPOSE = 'command-signing';
/** Who the trail and the command list name for a pin the API re-sends by itself. */
const SYSTEM_REQUESTER = { userId: null, email: 'system:key-rotation' };
/** A pin the device answered (or still holds) is not sent again; one that ran out or was cut short is. */
const SETTLED: readonly CommandStatus[] = ['queued', 'delivered', 'running', 'succeeded', 'failed', 'rejected'];

/**
 * Command-key rotation announced by command. `POST keys/command-signing/rotate` announces a new
 * key (KeyStore.announce): it starts signing only when the grace period ends, and until then the
 * current key signs everything, including a `keys.pin` command per device carrying the new key.
 * So no device ever gets a command signed with a key it could not have pinned yet. A device that
 * missed its pin (offline, quarantined, the pin expired after 5 minutes) gets a new one at its
 * next poll while the announcement lasts; one that comes back after the new key signs refuses
 * commands as `unknown key id` and is enrolled again (api/README.md, Command-key rotation).
 */
@Injectable()
export class KeyAnnouncements {
  private readonly logger = new Logger(KeyAnnouncements.name);
  /** Devices whose pin of the announced key is final on this instance: their polls skip the query. */
  private settled: { keyId: string; devices: Set<string> } = { keyId: '', devices: new Set() };

  constructor(
    private readonly keys: KeyStore,
    private readonly devices: DevicesService,
    private readonly commands: CommandsRepository,
    private readonly wakeups: CommandWakeups,
    private readonly live: LivePublisher,
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  /**
   * Announces a new key and queues its pin for every device that can take a command now, in the
   * request's transaction. The key files are written first (they are outside the database): if
   * the transaction then fails, the key is still announced and every device gets its pin at its
   * next poll.
   */
  async rotate(actor: Actor, graceHours: number): Promise<RotateCommandKeyResponse> {
    let announced: Awaited<ReturnType<KeyStore['announce']>>;
    try {
      announced = await this.keys.announce(PURPOSE, graceHours * 3_600_000);
    } catch (error) {
      if (error instanceof KeyAnnouncedError) {
        const pending = await this.keys.announcedKey(PURPOSE);
        throw new AppError('KEY_ANNOUNCEMENT_PENDING', `key ${pending?.keyId ?? '?'} signs from ${pending?.activatesAt ?? '?'}`);
      }
      throw error;
    }
    const pin = await this.pinParams(announced.keyId);
    const queued: CommandEntity[] = [];
    for (const deviceId of await this.devices.commandableDeviceIds()) {
      const row = await this.insertPin(deviceId, pin, { userId: actor.userId, email: actor.email });
      if (row) queued.push(row);
    }
    requestContext.annotate({
      resourceId: announced.keyId,
      details: {
        keyId: announced.keyId,
        previousKeyId: announced.previousKeyId,
        activatesAt: announced.activatesAt,
        graceHours,
        devicesAnnounced: queued.length,
      },
    });
    requestContext.afterCommit(async () => {
      for (const row of queued) await this.announce(row);
    });
    return { ...announced, devicesAnnounced: queued.length };
  }

  /**
   * Before a device's poll is answered: while a key is announced, a device without a pin of it
   * (none, or only expired or interrupted ones) gets one now, with its audit row. Never fails
   * the poll: a problem is logged and tried again at the next poll.
   */
  async beforePoll(deviceId: string): Promise<void> {
    try {
      const announced = await this.keys.announcedKey(PURPOSE);
      if (!announced) return;
      if (this.settled.keyId !== announced.keyId) this.settled = { keyId: announced.keyId, devices: new Set() };
      if (this.settled.devices.has(deviceId)) return;
      const pins = await this.commands.keyPins(deviceId, announced.keyId);
      const live = pins.filter((p) => SETTLED.includes(p.status) && !(p.expired && (p.status === 'queued' || p.status === 'delivered')));
      if (live.some((p) => ['succeeded', 'failed', 'rejected'].includes(p.status))) this.settled.devices.add(deviceId);
      if (live.length > 0) return;
      const pin = { keyId: announced.keyId, publicKeyPem: announced.publicKeyPem };
      const row = await this.db.transaction(async (manager) => {
        const inserted = await this.insertPin(deviceId, pin, SYSTEM_REQUESTER);
        if (inserted) {
          await this.audit.append(manager, {
            action: 'command.queue_critical',
            resourceType: 'device',
            resourceId: deviceId,
            result: 'success',
            userId: null,
            userEmail: SYSTEM_REQUESTER.email,
            details: {
              commandId: inserted.id,
              action: 'keys.pin',
              params: { keyId: pin.keyId },
              reason: 'key announcement sent again at the poll',
            },
          });
        }
        return inserted;
      });
      if (row) await this.announce(row);
    } catch (error) {
      this.logger.warn({
        msg: 'key announcement not queued at the poll; tried again at the next one',
        deviceId,
        err: (error as Error).message,
      });
    }
  }

  private async pinParams(keyId: string): Promise<KeysPinParams> {
    const key = (await this.keys.validPublicKeys(PURPOSE)).find((k) => k.keyId === keyId);
    if (!key) throw new Error(`the announced key ${keyId} is not in the key store`);
    return { keyId: key.keyId, publicKeyPem: key.publicKeyPem };
  }

  /** Signs (with the current key, which the device pinned) and stores one pin; null when the device cannot take it now. */
  private async insertPin(
    deviceId: string,
    pin: KeysPinParams,
    by: { userId: string | null; email: string },
  ): Promise<CommandEntity | null> {
    // Locked: a concurrent quarantine or revoke either commits first (and is seen) or waits.
    const device = await this.devices.findDevice(deviceId, { lock: true });
    if (!device || device.status !== 'active' || device.quarantinedAt) return null;
    const key = await this.keys.currentSigningKey(PURPOSE);
    return this.commands.insert(signedCommandRow(key, deviceId, 'keys.pin', { ...pin }, by));
  }

  /** After commit: the device's poll wakes, consoles hear of the command (both best-effort). */
  private async announce(row: CommandEntity): Promise<void> {
    await Promise.all([this.wakeups.wake(row.deviceId), this.live.commandChanged(toLiveCommand(row))]);
  }
}
