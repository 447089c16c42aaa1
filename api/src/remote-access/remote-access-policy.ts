import { Inject, Injectable } from '@nestjs/common';
import { roleHasPermission, type Role, type TerminalTarget } from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { DevicesService } from '../devices/devices.service.js';
import { RecoveryService } from '../recovery/recovery.service.js';

/** An operator asking for a terminal or a file session (from the access guard or the WebSocket admission). */
export interface RemoteOperator {
  userId: string;
  email: string;
  role: Role;
  /** The login session: logging out ends every remote session it opened. */
  authSessionId: string;
}

/** The operator of a request's actor or of an admitted WebSocket (both name the login session `sessionId`). */
export function remoteOperatorOf(who: { userId: string; email: string; role: Role; sessionId: string }): RemoteOperator {
  return { userId: who.userId, email: who.email, role: who.role, authSessionId: who.sessionId };
}

/** A device as a remote session needs it. */
export interface RemoteTarget {
  id: string;
  name: string;
  overlayAddress: string;
  sshHostKey: string;
  /**
   * Set for a recovery shell: the stick (its overlay address and the host key it registered for
   * this boot are the ones above) and the boot. Another boot of the stick ends the session.
   */
  recovery?: { mediumId: string; bootId: string };
}

/** The permission that opens terminals and file sessions; internal infrastructure needs Super Admin on top. */
export const REMOTE_ACCESS_PERMISSION = 'devices.manage';

/**
 * Who may open a terminal or a file session on which device, checked when a session opens and
 * again whenever access may have changed (api/src/remote-access/open-remote-sessions.ts):
 * `devices.manage`; Super Admin for internal infrastructure (the devices' one rule,
 * `assertMayChange`); the device active, not quarantined, with an overlay address and a pinned SSH
 * host key and no pending different one.
 *
 * A recovery shell (target `recovery`): Super Admin only, whatever the organization; the device
 * active and not quarantined, in RECOVERY MODE, its stick having registered a host key for this
 * boot. The target is the stick: its overlay address and that host key.
 */
@Injectable()
export class RemoteAccessPolicy {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly devices: DevicesService,
    private readonly recovery: RecoveryService,
  ) {}

  async authorize(operator: RemoteOperator, deviceId: string, target: TerminalTarget = 'device'): Promise<RemoteTarget> {
    if (this.config.API_REMOTE_ACCESS === 'off') throw new AppError('REMOTE_ACCESS_UNAVAILABLE');
    if (!roleHasPermission(operator.role, REMOTE_ACCESS_PERMISSION))
      throw new AppError('AUTH_FORBIDDEN', `this needs the ${REMOTE_ACCESS_PERMISSION} permission`);
    if (target === 'recovery') return this.authorizeRecovery(operator, deviceId);
    const device = await this.devices.requireDevice(deviceId);
    this.devices.assertMayChange(
      { userId: operator.userId, email: operator.email, role: operator.role, sessionId: operator.authSessionId, stepUpAt: null },
      device.organizationKind,
    );
    if (device.status !== 'active' || !device.overlayAddress)
      throw new AppError('DEVICE_NOT_ACTIVE', 'terminal and file sessions need an enrolled device in service');
    if (device.quarantinedAt)
      throw new AppError('DEVICE_QUARANTINED', 'the device is quarantined: accept its hardware before opening a session');
    if (!device.sshHostKey) throw new AppError('DEVICE_NO_SSH_HOST_KEY');
    if (device.sshHostKeyPending)
      throw new AppError(
        'SSH_HOST_KEY_MISMATCH',
        'the device reported a new SSH host key: a Super Admin must accept it before anyone connects',
      );
    return { id: device.id, name: device.name, overlayAddress: device.overlayAddress, sshHostKey: device.sshHostKey };
  }

  private async authorizeRecovery(operator: RemoteOperator, deviceId: string): Promise<RemoteTarget> {
    if (operator.role !== 'super_admin')
      throw new AppError(
        'AUTH_FORBIDDEN',
        "a recovery shell is for Super Admins only: it is a root shell on the recovery system, outside the device's own controls",
      );
    const device = await this.devices.requireDevice(deviceId);
    if (device.status !== 'active') throw new AppError('DEVICE_NOT_ACTIVE', 'a recovery shell needs an enrolled device in service');
    if (device.quarantinedAt)
      throw new AppError('DEVICE_QUARANTINED', 'the device is quarantined: accept its hardware before opening a session');
    const mode = await this.recovery.currentMode(deviceId);
    if (!mode)
      throw new AppError(
        'DEVICE_NOT_IN_RECOVERY_MODE',
        'the device is not in RECOVERY MODE: boot it from its recovery stick (reboot-to-recovery) and wait for the stick to register',
      );
    if (!mode.sshHostKey)
      throw new AppError(
        'RECOVERY_SHELL_UNAVAILABLE',
        'the recovery stick registered no SSH host key in this boot (its image has no OpenSSH server): rebuild and reflash it for a shell',
      );
    return {
      id: device.id,
      name: device.name,
      overlayAddress: mode.overlayAddress,
      sshHostKey: mode.sshHostKey,
      recovery: { mediumId: mode.mediumId, bootId: mode.bootId },
    };
  }
}
