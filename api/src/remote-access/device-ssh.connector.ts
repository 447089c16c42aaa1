import { connect as tcpConnect, type Socket } from 'node:net';
import { Inject, Injectable, Logger } from '@nestjs/common';
import ssh2, { type ClientChannel, type SFTPWrapper } from 'ssh2';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AppError } from '../common/errors/app-error.js';
import { SshHostKeysService } from '../inventory/ssh-host-keys.service.js';
import { certificateLogin } from '../ssh/certificate-login.js';
import { openRootSftp } from '../ssh/root-sftp.js';
import { SshCertificateAuthority, sshKeyFingerprint } from '../ssh/ssh-certificate-authority.js';
import type { RemoteOperator, RemoteTarget } from './remote-access-policy.js';

/** A dead tunnel is noticed after about a minute of unanswered keepalives. */
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;

/** An open SSH connection to one device for one remote session. */
export interface DeviceSshConnection {
  readonly certificateKeyId: string;
  readonly hostKeyFingerprint: string;
  /** An interactive shell on a PTY (xterm-256color, UTF-8). */
  shell(size: { cols: number; rows: number }): Promise<ClientChannel>;
  /** SFTP as root (sftp-server through sudo). */
  sftp(): Promise<SFTPWrapper>;
  end(): void;
  /** Resolves when the connection is gone, whoever ended it. */
  readonly closed: Promise<void>;
}

function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + Math.min(length, 64)).toString('latin1');
}

/** Host key algorithms that make the device present the pinned key's type. */
function hostKeyAlgorithms(pinnedType: string): string[] {
  return pinnedType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [pinnedType];
}

/**
 * Opens SSH connections to devices: to the overlay address, from the hub's overlay address (the
 * only source a device routes back to and the one the session certificate allows), logging in as
 * xspectre-ops with a fresh certificate, and requiring the host key pinned at enrollment. A
 * different host key refuses the connection and is recorded as pending (`ssh.host_key_changed`).
 * A recovery target (`target.recovery`) is the booted stick: its address, root with a certificate
 * for the stick's principal, the host key it registered for this boot; a different key refuses.
 */
@Injectable()
export class DeviceSshConnector {
  private readonly logger = new Logger(DeviceSshConnector.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ca: SshCertificateAuthority,
    private readonly hostKeys: SshHostKeysService,
  ) {}

  async connect(target: RemoteTarget, operator: RemoteOperator, sessionId: string): Promise<DeviceSshConnection> {
    const credentials = await this.ca.issue({
      deviceId: target.id,
      sessionId,
      operatorEmail: operator.email,
      ...(target.recovery ? { recoveryMediumId: target.recovery.mediumId } : {}),
    });
    const pinnedBlob = Buffer.from(target.sshHostKey.trim().split(/\s+/)[1] ?? '', 'base64');
    const pinnedType = keyType(pinnedBlob);
    const socket = await this.openSocket(target.overlayAddress);
    const client = new ssh2.Client();
    let hostKeyRefused = false;

    const ready = new Promise<void>((resolve, reject) => {
      const fail = (error: Error & { level?: string }) => {
        socket.destroy();
        if (hostKeyRefused)
          return reject(
            target.recovery
              ? new AppError(
                  'SSH_HOST_KEY_MISMATCH',
                  'the recovery stick presented a host key other than the one it registered for this boot',
                )
              : new AppError('SSH_HOST_KEY_MISMATCH'),
          );
        if (error.level === 'client-authentication')
          return reject(new AppError('DEVICE_SSH_REFUSED', `the device refused the session certificate (${error.message})`));
        reject(new AppError('DEVICE_SSH_UNREACHABLE', `SSH to ${target.overlayAddress} failed: ${error.message}`));
      };
      client.once('ready', () => {
        client.removeListener('error', fail);
        resolve();
      });
      client.once('error', fail);
    });
    client.connect({
      sock: socket,
      username: credentials.username,
      readyTimeout: this.config.API_SSH_CONNECT_TIMEOUT_MS,
      keepaliveInterval: KEEPALIVE_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      algorithms: { serverHostKey: hostKeyAlgorithms(pinnedType) as never },
      hostVerifier: (presented: Buffer, verify: (valid: boolean) => void) => {
        if (presented.equals(pinnedBlob)) return verify(true);
        hostKeyRefused = true;
        const line = `${keyType(presented)} ${presented.toString('base64')}`;
        this.logger.warn({
          msg: 'SSH host key mismatch: connection refused',
          deviceId: target.id,
          ...(target.recovery ? { recoveryMediumId: target.recovery.mediumId, bootId: target.recovery.bootId } : {}),
          presented: sshKeyFingerprint(line),
        });
        // A stick's key lives for one boot and is pinned from its registration: nothing to keep as the device's pending key.
        if (target.recovery) return verify(false);
        this.hostKeys.observe(target.id, line, 'connection').then(
          () => verify(false),
          (error: unknown) => {
            this.logger.error({ msg: 'could not record the changed SSH host key', deviceId: target.id, err: (error as Error).message });
            verify(false);
          },
        );
      },
      authHandler: certificateLogin(client, credentials) as never,
    });
    await ready;

    // Errors after login (a dropped tunnel) end the connection; the session sees `closed`.
    client.on('error', (error) => this.logger.debug({ msg: 'ssh connection error', deviceId: target.id, err: error.message }));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const timeoutMs = this.config.API_SSH_CONNECT_TIMEOUT_MS;
    return {
      certificateKeyId: credentials.keyId,
      hostKeyFingerprint: sshKeyFingerprint(target.sshHostKey),
      shell: (size) =>
        new Promise<ClientChannel>((resolve, reject) =>
          client.shell({ term: 'xterm-256color', cols: size.cols, rows: size.rows }, { env: { LANG: 'C.UTF-8' } }, (error, channel) =>
            error ? reject(new AppError('DEVICE_SSH_REFUSED', `the device refused a shell: ${error.message}`)) : resolve(channel),
          ),
        ),
      sftp: () =>
        openRootSftp(client, timeoutMs).catch((error: Error) => {
          throw new AppError('REMOTE_FILE_FAILED', error.message);
        }),
      end: () => client.end(),
      closed,
    };
  }

  /** TCP from the hub's overlay address; an instance without it is not on a hub host. */
  private openSocket(host: string): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = tcpConnect({ host, port: this.config.API_SSH_PORT, localAddress: this.ca.sourceAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new AppError(
            'DEVICE_SSH_UNREACHABLE',
            `no answer from ${host}:${this.config.API_SSH_PORT} within ${this.config.API_SSH_CONNECT_TIMEOUT_MS} ms`,
          ),
        );
      }, this.config.API_SSH_CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error.code === 'EADDRNOTAVAIL')
          return reject(
            new AppError('REMOTE_ACCESS_UNAVAILABLE', `this instance has no address ${this.ca.sourceAddress}: it is not on the hub host`),
          );
        reject(new AppError('DEVICE_SSH_UNREACHABLE', `SSH to ${host}:${this.config.API_SSH_PORT}: ${error.code ?? error.message}`));
      });
    });
  }
}
