import { Injectable } from '@nestjs/common';
import type { DeviceSshHostKey } from '@xspectre/contracts';
import type { RecordedDeviceEvent } from '../device-events/device-events.service.js';

/**
 * A device's SSH host key: pinned at enrollment (devices.ssh_host_key), never trusted on first
 * use. A different key the device presents (in its inventory, or to a terminal connection) is
 * kept as pending with a critical `ssh.host_key_changed` event; connections stay refused until a
 * Super Admin accepts it (`ssh.host_key_accepted`).
 */
@Injectable()
export class SshHostKeysService {
  /** The pinned key and a pending different one. */
  get(deviceId: string): Promise<DeviceSshHostKey> {
    throw new Error(`not built yet: ${deviceId}`);
  }

  /**
   * A key the device presented: nothing when it is the pinned one; otherwise it becomes the pending
   * key with one `ssh.host_key_changed` event per distinct key. Runs in the caller's transaction
   * (the heartbeat write), or in its own when there is none (a refused connection).
   */
  observe(deviceId: string, keyLine: string, source: 'inventory' | 'connection', at = new Date()): Promise<RecordedDeviceEvent | null> {
    throw new Error(`not built yet: ${deviceId} ${keyLine} ${source} ${at.toISOString()}`);
  }

  /** Critical: the pending key becomes the pinned one (the request's transaction, audited with it). */
  accept(deviceId: string, reason: string): Promise<RecordedDeviceEvent> {
    throw new Error(`not built yet: ${deviceId} ${reason}`);
  }
}
