import { Injectable } from '@nestjs/common';
import type { DeviceSshHostKey } from '@xspectre/contracts';
import { AppError } from '../common/errors/app-error.js';
import { requestContext } from '../common/context/request-context.js';
import { Database } from '../db/database.js';
import { AccessChanges } from '../redis/access-changes.js';
import { DevicesService } from '../devices/devices.service.js';
import { DeviceEventsService, type RecordedDeviceEvent } from '../device-events/device-events.service.js';
import { sshKeyFingerprint } from '../ssh/ssh-certificate-authority.js';

type Source = 'inventory' | 'connection';

/** The key itself (type and base64 blob): comments and spacing do not make a key different. */
export function sshKeyIdentity(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/**
 * A device's SSH host key: pinned at enrollment (devices.ssh_host_key), never trusted on first
 * use. A different key the device presents (in its inventory, or to a terminal connection) is
 * kept as pending with a critical `ssh.host_key_changed` event; connections stay refused until a
 * Super Admin accepts it (`ssh.host_key_accepted`).
 */
@Injectable()
export class SshHostKeysService {
  constructor(
    private readonly db: Database,
    private readonly devices: DevicesService,
    private readonly events: DeviceEventsService,
    private readonly accessChanges: AccessChanges,
  ) {}

  /** The pinned key and a pending different one. */
  async get(deviceId: string): Promise<DeviceSshHostKey> {
    const device = await this.devices.requireDevice(deviceId);
    return {
      deviceId,
      pinned: device.sshHostKey ? { key: device.sshHostKey, fingerprint: sshKeyFingerprint(device.sshHostKey) } : null,
      pending:
        device.sshHostKeyPending && device.sshHostKeyPendingAt
          ? {
              key: device.sshHostKeyPending,
              fingerprint: sshKeyFingerprint(device.sshHostKeyPending),
              seenAt: device.sshHostKeyPendingAt.toISOString(),
              source: device.sshHostKeyPendingSource ?? 'connection',
            }
          : null,
    };
  }

  /**
   * A key the device presented: nothing when it is the pinned one; otherwise it becomes the pending
   * key with one `ssh.host_key_changed` event per distinct key. Runs in the caller's transaction
   * (the heartbeat write), or in its own when there is none (a refused connection).
   */
  async observe(deviceId: string, keyLine: string, source: Source, at = new Date()): Promise<RecordedDeviceEvent | null> {
    // The heartbeat write: the writer announces the event once the batch commits, and its
    // transaction runs the after-commit work once it committed (api/src/db/database.ts).
    if (source === 'inventory' && requestContext.get()?.manager?.queryRunner?.isTransactionActive) {
      const event = await this.observeLocked(deviceId, keyLine, source, at);
      if (event) requestContext.afterCommit(() => this.accessChanges.announce({ kind: 'device', id: deviceId }));
      return event;
    }
    // A refused connection: recorded in a transaction of its own, which the refused request's
    // rollback (if any) cannot undo; announced once it committed.
    const event = await this.db.detached(() => this.observeLocked(deviceId, keyLine, source, at));
    if (event) {
      await this.events.announceCommitted([event]);
      await this.accessChanges.announce({ kind: 'device', id: deviceId });
    }
    return event;
  }

  /** Critical: the pending key becomes the pinned one (the request's transaction, audited with it). */
  async accept(deviceId: string, reason: string): Promise<RecordedDeviceEvent> {
    const device = await this.devices.requireDevice(deviceId, { lock: true });
    if (!device.sshHostKeyPending) throw new AppError('SSH_HOST_KEY_NOT_PENDING');
    const previous = device.sshHostKey ? sshKeyFingerprint(device.sshHostKey) : null;
    const accepted = sshKeyFingerprint(device.sshHostKeyPending);
    await this.devices.pinSshHostKey(deviceId, device.sshHostKeyPending);
    const acceptedBy = requestContext.get()?.actor?.email ?? null;
    requestContext.annotate({ resourceId: deviceId, details: { reason, previousFingerprint: previous, acceptedFingerprint: accepted } });
    return this.events.record({
      deviceId,
      type: 'ssh.host_key_accepted',
      severity: 'info',
      at: new Date(),
      details: { reason, acceptedBy, previousFingerprint: previous, acceptedFingerprint: accepted, source: device.sshHostKeyPendingSource },
    });
  }

  /** Under the device's lock, so two reports of one new key record one event. */
  private async observeLocked(deviceId: string, keyLine: string, source: Source, at: Date): Promise<RecordedDeviceEvent | null> {
    const presented = sshKeyIdentity(keyLine);
    const device = await this.devices.findDevice(deviceId, { lock: true });
    if (!device || !presented) return null;
    if (!device.sshHostKey) {
      // Enrolled before keys were pinned: the authenticated agent's report pins it; an SSH peer never does.
      if (source === 'inventory') await this.devices.pinSshHostKey(deviceId, presented);
      return null;
    }
    // The pinned key again leaves a pending one for an operator to judge; the pending one again is known.
    if (presented === sshKeyIdentity(device.sshHostKey)) return null;
    if (device.sshHostKeyPending && presented === sshKeyIdentity(device.sshHostKeyPending)) return null;
    await this.devices.setPendingSshHostKey(deviceId, { key: presented, at, source });
    return this.events.append({
      deviceId,
      type: 'ssh.host_key_changed',
      severity: 'critical',
      at,
      details: {
        pinnedFingerprint: sshKeyFingerprint(device.sshHostKey),
        presentedFingerprint: sshKeyFingerprint(presented),
        keyType: presented.split(' ')[0] ?? null,
        source,
      },
    });
  }
}
