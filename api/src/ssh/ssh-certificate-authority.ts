import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ParsedKey } from 'ssh2';
import {
  RECOVERY_SSH_ACCOUNT,
  SSH_ACCOUNT,
  recoveryPrincipalOf,
  sshPrincipalOf,
  type DeviceSshSetup,
  type RecoverySshSetup,
} from '@xspectre/contracts';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { KeyStore } from '../keys/key-store.js';
import { generateSessionKey } from './certificate-login.js';
import { issueUserCertificate, opensshPublicKey } from './openssh-certificate.js';

/** What one SSH session logs in with: its own key pair and a certificate for one device. */
export interface SessionCredentials {
  username: string;
  privateKey: ParsedKey;
  certificate: Buffer;
  keyId: string;
  validBefore: Date;
}

/** Printable ASCII of bounded length: e-mails may carry anything a directory allowed. */
function keyIdPart(value: string): string {
  return value.replace(/[^\x21-\x7e]/g, '?').slice(0, 120);
}

/**
 * The SSH user certificate authority: an Ed25519 key in the key store (purpose `ssh-user-ca`,
 * outside the database). Devices trust its public key for the account `xspectre-ops` and their
 * own principal only; each session gets a fresh key pair and a certificate valid for minutes,
 * usable only from the hub's overlay address, whose key id names the operator and the session.
 */
@Injectable()
export class SshCertificateAuthority {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: KeyStore,
  ) {}

  /** The address SSH sessions leave from: the hub's overlay address unless configured. */
  get sourceAddress(): string {
    return this.config.API_SSH_SOURCE_ADDRESS ?? this.config.API_OVERLAY_HUB_ADDRESS;
  }

  /** What a device's sshd needs (the enroll answer's `ssh`, `GET agent/ssh-setup`). */
  async setupFor(deviceId: string): Promise<DeviceSshSetup> {
    const ca = await this.keys.currentSigningKey('ssh-user-ca');
    return {
      userCaPublicKey: opensshPublicKey(ca.privateKey, 'xspectre-user-ca'),
      principal: sshPrincipalOf(deviceId),
      account: SSH_ACCOUNT,
    };
  }

  /** What a booted recovery stick's sshd needs (the recovery register answer's `ssh`): root, the stick's own principal. */
  async recoverySetupFor(mediumId: string): Promise<RecoverySshSetup> {
    const ca = await this.keys.currentSigningKey('ssh-user-ca');
    return {
      userCaPublicKey: opensshPublicKey(ca.privateKey, 'xspectre-user-ca'),
      principal: recoveryPrincipalOf(mediumId),
      account: RECOVERY_SSH_ACCOUNT,
    };
  }

  /**
   * A key pair and certificate for one session on one device, valid from a minute ago (clock skew)
   * for API_SSH_CERT_VALIDITY_SECONDS. With `recoveryMediumId`: for that recovery stick's shell
   * (root, principal `xspectre-recovery-<medium id>`, key id `xspectre recovery session …`), never
   * valid on the device's own system.
   */
  async issue(request: {
    deviceId: string;
    sessionId: string;
    operatorEmail: string;
    recoveryMediumId?: string;
    now?: Date;
  }): Promise<SessionCredentials> {
    const ca = await this.keys.currentSigningKey('ssh-user-ca');
    const now = request.now ?? new Date();
    const session = generateSessionKey();
    const recovery = request.recoveryMediumId !== undefined;
    const keyId = `xspectre ${recovery ? 'recovery session' : 'session'} ${request.sessionId} by ${keyIdPart(request.operatorEmail)}`;
    const validBefore = new Date(now.getTime() + this.config.API_SSH_CERT_VALIDITY_SECONDS * 1000);
    const { blob } = issueUserCertificate({
      publicKey: session.publicKey,
      caKey: ca.privateKey,
      keyId,
      principals: [recovery ? recoveryPrincipalOf(request.recoveryMediumId!) : sshPrincipalOf(request.deviceId)],
      validAfter: new Date(now.getTime() - 60_000),
      validBefore,
      sourceAddress: `${this.sourceAddress}/32`,
      serial: BigInt(`0x${randomBytes(8).toString('hex')}`),
    });
    return {
      username: recovery ? RECOVERY_SSH_ACCOUNT : SSH_ACCOUNT,
      privateKey: session.privateKey,
      certificate: blob,
      keyId,
      validBefore,
    };
  }
}

/** `SHA256:…` of an OpenSSH public key line, as `ssh-keygen -l` prints it. */
export function sshKeyFingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
